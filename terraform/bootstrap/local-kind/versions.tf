terraform {
  required_version = ">= 1.5.0"
  required_providers {
    # `docker network inspect kind` for MetalLB's address pool.
    external = {
      source  = "hashicorp/external"
      version = "2.3.4"
    }
  }
}
