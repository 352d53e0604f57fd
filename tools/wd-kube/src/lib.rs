//! wd-kube: how the cluster tools connect to Kubernetes (and nothing else): the `--kubeconfig`
//! argument, the client, and API errors mapped to wd exit codes from kube's typed errors.
//!
//! Not here: watching, readiness, anything a single tool decides.

use std::path::PathBuf;
use wd_core::{WdError, WdResult};

#[derive(Debug, Clone, clap::Args)]
pub struct KubeArgs {
    /// Kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

/// The client configuration for the kubeconfig given, or the inferred one. Unusable files are
/// exit 2; no configuration at all is exit 3.
pub async fn config(args: &KubeArgs) -> WdResult<kube::Config> {
    match &args.kubeconfig {
        Some(p) => {
            let kc = kube::config::Kubeconfig::read_from(p)
                .map_err(|e| WdError::input(format!("{}: not a kubeconfig ({e})", p.display())))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .map_err(|e| WdError::input(format!("{}: {e}", p.display())))
        }
        None => kube::Config::infer().await.map_err(|e| {
            WdError::unreachable(format!(
                "no cluster configuration ({e}); pass --kubeconfig or set KUBECONFIG"
            ))
        }),
    }
}

/// A client for a configuration from [`config`].
pub fn client_for(config: kube::Config) -> WdResult<kube::Client> {
    kube::Client::try_from(config)
        .map_err(|e| WdError::unreachable(format!("cannot set up the Kubernetes client ({e})")))
}

/// A client for the kubeconfig given, or the inferred one ([`config`] + [`client_for`]).
pub async fn client(args: &KubeArgs) -> WdResult<kube::Client> {
    client_for(config(args).await?)
}

/// One-line error for a failed API call, classified by kube's typed error: an API status of
/// 401/403 is a refusal (credentials, RBAC), any other status is the API's answer, anything
/// else (connection, TLS, timeout) means the API could not be reached. All are exit 3.
pub fn api_error(what: &str, e: &kube::Error) -> WdError {
    match e {
        kube::Error::Api(s) if s.code == 401 || s.code == 403 => WdError::unreachable(format!(
            "{what}: the Kubernetes API refused the request ({} {}: {}); check your kubeconfig's user and RBAC",
            s.code, s.reason, s.message
        )),
        kube::Error::Api(s) => WdError::unreachable(format!(
            "{what}: the Kubernetes API answered {} {}: {}",
            s.code, s.reason, s.message
        )),
        other => WdError::unreachable(format!(
            "{what}: cannot reach the Kubernetes API ({other}); check the kubeconfig and that the cluster runs"
        )),
    }
}
