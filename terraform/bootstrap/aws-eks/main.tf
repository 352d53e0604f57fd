# EKS with SELF-MANAGED node groups only: no Fargate, no EKS managed add-ons (the default
# vpc-cni/kube-proxy/coredns the cluster bootstraps stay self-managed), no cloud-managed
# services for the workloads. LoadBalancer Services get cloud load balancers (lb_mode = cloud).

provider "aws" {
  region = var.region
}

locals {
  kubeconfig_path      = pathexpand(var.kubeconfig_path)
  lb_mode              = "cloud"
  metallb_address_pool = ""
  azs                  = var.availability_zones
}

module "vpc" {
  #checkov:skip=CKV_TF_1:a Terraform registry module, pinned to an exact version (the registry serves versions, not commits)
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.16.0"

  name            = var.cluster_name
  cidr            = var.vpc_cidr
  azs             = local.azs
  private_subnets = [for i, _ in local.azs : cidrsubnet(var.vpc_cidr, 4, i)]
  public_subnets  = [for i, _ in local.azs : cidrsubnet(var.vpc_cidr, 8, 48 + i)]

  enable_nat_gateway   = true
  single_nat_gateway   = true
  enable_dns_hostnames = true

  public_subnet_tags  = { "kubernetes.io/role/elb" = 1 }
  private_subnet_tags = { "kubernetes.io/role/internal-elb" = 1 }
}

module "eks" {
  #checkov:skip=CKV_TF_1:a Terraform registry module, pinned to an exact version (the registry serves versions, not commits)
  source  = "terraform-aws-modules/eks/aws"
  version = "20.31.0"

  cluster_name                             = var.cluster_name
  cluster_version                          = var.kubernetes_version
  vpc_id                                   = module.vpc.vpc_id
  subnet_ids                               = module.vpc.private_subnets
  cluster_endpoint_public_access           = true
  cluster_endpoint_public_access_cidrs     = var.public_access_cidrs
  enable_cluster_creator_admin_permissions = true

  # No EKS managed add-ons and no Fargate: the cluster is as plain as kind and k3s.
  cluster_addons   = {}
  fargate_profiles = {}

  self_managed_node_groups = {
    default = {
      instance_type = var.node_instance_type
      min_size      = var.node_count
      desired_size  = var.node_count
      max_size      = var.node_count * 2
      metadata_options = {
        http_endpoint               = "enabled"
        http_tokens                 = "required"
        http_put_response_hop_limit = 1
      }
    }
  }
}

resource "terraform_data" "kubeconfig" {
  input      = { name = module.eks.cluster_name, region = var.region, path = local.kubeconfig_path }
  depends_on = [module.eks]

  provisioner "local-exec" {
    interpreter = ["bash", "-c"]
    command     = "set -euo pipefail; aws eks update-kubeconfig --name '${self.input.name}' --region '${self.input.region}' --kubeconfig '${self.input.path}'"
  }
}

# The EBS CSI controller (installed in-cluster by the platform module, not as an EKS managed
# add-on) needs ec2:CreateVolume & co. IRSA gives that role to its ServiceAccount only; the
# nodes keep IMDS hop limit 1, so pods cannot borrow the node role. Without a CSI driver and a
# default StorageClass every PVC (Vault, Loki, Postgres) stays Pending on EKS.
module "ebs_csi_irsa" {
  #checkov:skip=CKV_TF_1:a Terraform registry module, pinned to an exact version (the registry serves versions, not commits)
  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version = "5.48.0"

  role_name             = "${var.cluster_name}-ebs-csi"
  attach_ebs_csi_policy = true
  oidc_providers = {
    main = {
      provider_arn = module.eks.oidc_provider_arn
      # The chart's controller ServiceAccount (aws-ebs-csi-driver values: controller.serviceAccount.name).
      namespace_service_accounts = ["kube-system:ebs-csi-controller-sa"]
    }
  }
}
