//! wd-kube: how the cluster tools connect to Kubernetes (and nothing else).

use std::path::PathBuf;
use wd_core::{WdError, WdResult};

#[derive(Debug, Clone, clap::Args)]
pub struct KubeArgs {
    /// Kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

/// A client for the kubeconfig given, or the inferred one. Unusable files are exit 2; no
/// configuration at all is exit 3.
pub async fn client(args: &KubeArgs) -> WdResult<kube::Client> {
    let config = match &args.kubeconfig {
        Some(p) => {
            let kc = kube::config::Kubeconfig::read_from(p)
                .map_err(|e| WdError::input(format!("{}: not a kubeconfig ({e})", p.display())))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .map_err(|e| WdError::input(format!("{}: {e}", p.display())))?
        }
        None => kube::Config::infer().await.map_err(|e| {
            WdError::unreachable(format!(
                "no cluster configuration ({e}); pass --kubeconfig or set KUBECONFIG"
            ))
        })?,
    };
    kube::Client::try_from(config)
        .map_err(|e| WdError::unreachable(format!("cannot set up the Kubernetes client ({e})")))
}

/// One-line error for a failed API call (a client error, or a watcher error wrapping one).
pub fn api_error(what: &str, e: &dyn std::fmt::Display) -> WdError {
    let text = e.to_string();
    let lower = text.to_lowercase();
    if lower.contains("403") || lower.contains("forbidden") || lower.contains("401") {
        WdError::unreachable(format!("{what}: the Kubernetes API refused the request ({text}); check your kubeconfig's user and RBAC"))
    } else {
        WdError::unreachable(format!("{what}: cannot reach the Kubernetes API ({text}); check the kubeconfig and that the cluster runs"))
    }
}
