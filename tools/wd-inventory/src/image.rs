//! Image references and whether they are pinned.

use wd_core::docs::inventory::Image;

/// Tags that move: an image pulled by one of these can change under the same name.
/// (`latest`, `stable`, `edge`, `main`, `nightly` are the ones the users' audit named.)
const MOVING_TAGS: &[&str] = &[
    "latest", "stable", "edge", "main", "master", "nightly", "dev", "develop", "unstable",
    "rolling",
];

/// Splits `[registry/]path[:tag][@digest]` and decides whether it is pinned.
pub fn parse(raw: &str, reference: &str) -> Image {
    let (name_tag, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (reference, None),
    };
    let last_slash = name_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (repository, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (
            name_tag[..last_slash + i].to_string(),
            Some(name_tag[last_slash + i + 1..].to_string()),
        ),
        None => (name_tag.to_string(), None),
    };
    let unpinned_reason = if digest.is_some() {
        None
    } else {
        match tag.as_deref() {
            None => Some("no tag (means latest)".to_string()),
            Some("") => Some("empty tag".to_string()),
            Some(t) if MOVING_TAGS.contains(&t.to_ascii_lowercase().as_str()) => {
                Some(format!("moving tag \"{t}\""))
            }
            Some(_) => None,
        }
    };
    Image {
        raw: raw.to_string(),
        reference: reference.to_string(),
        repository,
        tag,
        digest,
        pinned: unpinned_reason.is_none(),
        unpinned_reason,
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn pinned_and_unpinned() {
        assert!(parse("", "postgres:16.4-alpine").pinned);
        assert!(parse("", "quay.io/keycloak/keycloak:25.0").pinned);
        assert!(parse("", "libretranslate/libretranslate:v1.6.5").pinned);
        assert!(parse("", "caddy@sha256:abc").pinned);
        assert!(parse("", "caddy:latest@sha256:abc").pinned);
        let i = parse("", "postgres");
        assert_eq!(
            (i.pinned, i.unpinned_reason.as_deref()),
            (false, Some("no tag (means latest)"))
        );
        let i = parse("", "waltid/wallet-api:stable");
        assert_eq!(i.unpinned_reason.as_deref(), Some("moving tag \"stable\""));
        assert!(
            !parse("", "x:nightly").pinned
                && !parse("", "x:edge").pinned
                && !parse("", "x:main").pinned
        );
        let i = parse("", "localhost:5000/app");
        assert_eq!((i.repository.as_str(), i.tag), ("localhost:5000/app", None));
        let i = parse("", "localhost:5000/app:1.2");
        assert_eq!(
            (i.repository.as_str(), i.tag.as_deref()),
            ("localhost:5000/app", Some("1.2"))
        );
        assert!(!parse("", "waltid/x:").pinned);
    }
}
