//! Check 3, images: every image has a tag or digest and no moving `latest`; images built from
//! source (the scenario's `localImages`, `--local-image`, or tag `local`) must be declared
//! built and loaded by the orchestrator (`--built-image`).

use crate::model::{arr, str_of};
use crate::{finding, Ctx, Out};
use std::collections::BTreeMap;
use wd_core::docs::preflight::{ObjectRef, Severity};

/// (repository, tag, digest) of an image reference.
pub fn split(image: &str) -> (String, Option<String>, Option<String>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d.to_string())),
        None => (image, None),
    };
    let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest[slash..].rfind(':') {
        Some(i) => (
            rest[..slash + i].to_string(),
            Some(rest[slash + i + 1..].to_string()),
            digest,
        ),
        None => (rest.to_string(), None, digest),
    }
}

/// `docker.io/library/x` and `x` are the same repository.
pub fn norm_repo(r: &str) -> &str {
    r.strip_prefix("docker.io/library/")
        .or_else(|| r.strip_prefix("docker.io/"))
        .or_else(|| r.strip_prefix("index.docker.io/"))
        .unwrap_or(r)
}

pub fn repo_matches(pattern: &str, repo: &str) -> bool {
    let (p, r) = (norm_repo(pattern), norm_repo(repo));
    p == r || r.ends_with(&format!("/{p}"))
}

pub fn check(ctx: &Ctx, out: &mut Out) {
    let mut users: BTreeMap<String, Vec<ObjectRef>> = BTreeMap::new();
    for p in &ctx.ix.pods {
        let Some(spec) = &p.spec else { continue };
        for c in arr(spec.get("initContainers"))
            .iter()
            .chain(arr(spec.get("containers")))
        {
            let mut r = p.owner.clone();
            r.container = Some(str_of(c.get("name")).to_string());
            users
                .entry(str_of(c.get("image")).to_string())
                .or_default()
                .push(r);
        }
    }
    let local: Vec<&str> = ctx
        .rules
        .local_images
        .iter()
        .chain(ctx.opts.local_images.iter())
        .map(|s| s.as_str())
        .collect();
    for (image, who) in users {
        if image.is_empty() {
            out.findings.push(finding(
                "images/missing",
                Severity::Error,
                who,
                "container without an image".into(),
                "set the image".into(),
            ));
            continue;
        }
        let (repo, tag, digest) = split(&image);
        if digest.is_none() && tag.is_none() {
            out.findings.push(finding(
                "images/untagged",
                Severity::Error,
                who.clone(),
                format!("image {image} has no tag or digest: it means `latest`, which moves and makes rollouts unreproducible"),
                "pin a version tag (or a digest)".into(),
            ));
        } else if digest.is_none() && tag.as_deref() == Some("latest") {
            out.findings.push(finding(
                "images/latest",
                Severity::Error,
                who.clone(),
                format!("image {image} uses the moving tag `latest`"),
                "pin a version tag (or a digest)".into(),
            ));
        }
        let is_local = tag.as_deref() == Some("local")
            || local.iter().any(|l| {
                let (lr, lt, _) = split(l);
                repo_matches(&lr, &repo) && (lt.is_none() || lt == tag)
            });
        if is_local {
            let built = ctx.opts.built_images.iter().any(|b| {
                let (br, bt, _) = split(b);
                repo_matches(&br, &repo) && (bt.is_none() || bt == tag)
            });
            if !built {
                out.findings.push(finding(
                    "images/not-built",
                    Severity::Error,
                    who,
                    format!("image {image} is built locally and nothing builds/loads it: the pods stay in ErrImagePull/ImagePullBackOff"),
                    format!("build and load it first (`k8s-deploy.sh run`), then declare it with --built-image {image}"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_references() {
        assert_eq!(
            split("quay.io/keycloak/keycloak:25.0"),
            (
                "quay.io/keycloak/keycloak".into(),
                Some("25.0".into()),
                None
            )
        );
        assert_eq!(
            split("localhost:5000/app"),
            ("localhost:5000/app".into(), None, None)
        );
        assert_eq!(split("a@sha256:ab").2.as_deref(), Some("sha256:ab"));
        assert!(repo_matches(
            "verifiably-go",
            "registry.local/verifiably-go"
        ));
        assert!(repo_matches("busybox", "docker.io/library/busybox"));
    }
}
