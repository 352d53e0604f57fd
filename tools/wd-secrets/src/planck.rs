//! The SecretPlan as wd-secrets may act on it: every Vault location non-empty and inside the
//! mount (no empty, `.` or `..` segments), every value generated non-empty, no key planned twice.
//! A plan that breaks one of these is bad input (exit 2, one line naming the file, the secret,
//! the field and the fix) and Vault is never asked: a plan written by hand or by another release
//! must not write `""` on every seed, or outside the planned paths.

use wd_core::docs::secret_plan::SecretPlan;
use wd_core::{WdError, WdResult};

/// Formats and charsets `generate` knows.
const FORMATS: &[&str] = &["random", "rsa-jwk", "ec-p256-pem", "waltid-key", "external"];
const CHARSETS: &[&str] = &["alphanumeric", "lowercase", "hex", "printable"];
/// Shortest random value (the rule config/secrets.yaml follows too).
pub const MIN_RANDOM_LENGTH: u32 = 8;
/// Longest random value (a bound on what one seed writes).
pub const MAX_RANDOM_LENGTH: u32 = 4096;

const FIX: &str = "fix config/secrets.yaml and re-render (wd-render), or fix the plan";

/// A Vault path (or mount) that stays where it says: segments of printable characters without
/// `/` at either end, none empty, `.` or `..`.
fn path_problem(p: &str) -> Option<&'static str> {
    if p.is_empty() {
        return Some("is empty");
    }
    if p.starts_with('/') || p.ends_with('/') {
        return Some("must not start or end with /");
    }
    if p.chars()
        .any(|c| c.is_whitespace() || c.is_control() || "?#%*+".contains(c))
    {
        return Some("has a space, a control character or one of ? # % * +");
    }
    if p.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Some("has an empty, . or .. segment");
    }
    None
}

/// Checks `plan` (read from `source`); the first problem is the error.
pub fn check(plan: &SecretPlan, source: &str) -> WdResult<()> {
    if let Some(why) = path_problem(&plan.kv_mount) {
        return Err(WdError::input(format!(
            "{source}: kvMount {:?} {why}; {FIX}",
            plan.kv_mount
        )));
    }
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (i, s) in plan.secrets.iter().enumerate() {
        let at = |field: &str, msg: String| {
            WdError::input(format!(
                "{source}: secrets[{i}] ({}).{field}: {msg}; {FIX}",
                if s.name.is_empty() { "?" } else { &s.name }
            ))
        };
        if s.name.trim().is_empty() {
            return Err(at("name", "is empty".into()));
        }
        if let Some(why) = path_problem(&s.vault_path) {
            return Err(at("vaultPath", format!("{:?} {why}", s.vault_path)));
        }
        if s.vault_key.trim().is_empty() {
            return Err(at("vaultKey", "is empty".into()));
        }
        if s.vault_key.contains(['/', '\n']) {
            return Err(at(
                "vaultKey",
                format!("{:?} has / or a line break", s.vault_key),
            ));
        }
        if seen.contains(&(s.vault_path.as_str(), s.vault_key.as_str())) {
            return Err(at(
                "vaultKey",
                format!("{}#{} is planned twice", s.vault_path, s.vault_key),
            ));
        }
        seen.push((&s.vault_path, &s.vault_key));
        let p = &s.policy;
        if !FORMATS.contains(&p.format.as_str()) {
            return Err(at(
                "policy.format",
                format!("{:?} is not one of {}", p.format, FORMATS.join(", ")),
            ));
        }
        if p.format == "random" {
            match p.length {
                Some(l) if (MIN_RANDOM_LENGTH..=MAX_RANDOM_LENGTH).contains(&l) => {}
                other => {
                    return Err(at(
                        "policy.length",
                        format!(
                            "{} for a random value; use {MIN_RANDOM_LENGTH} to {MAX_RANDOM_LENGTH}",
                            other.map_or("missing".to_string(), |l| l.to_string())
                        ),
                    ))
                }
            }
            if !p.charset.as_deref().is_some_and(|c| CHARSETS.contains(&c)) {
                return Err(at(
                    "policy.charset",
                    format!("{:?}; use one of {}", p.charset, CHARSETS.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wd_core::docs::secret_plan::{GenerationPolicy, PlannedSecret};

    fn plan() -> SecretPlan {
        SecretPlan {
            kv_mount: "secret".into(),
            secrets: vec![PlannedSecret {
                name: "wallet-token-key".into(),
                vault_path: "waltid/wallet/auth".into(),
                vault_key: "tokenKey".into(),
                policy: GenerationPolicy {
                    format: "random".into(),
                    length: Some(32),
                    charset: Some("alphanumeric".into()),
                    why: String::new(),
                },
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn refuses_what_vault_must_not_be_asked() {
        assert!(check(&plan(), "p.json").is_ok());
        type Edit = Box<dyn Fn(&mut SecretPlan)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|p| p.kv_mount.clear()),
                "p.json: kvMount \"\" is empty",
            ),
            (
                Box::new(|p| p.secrets[0].vault_path.clear()),
                "(wallet-token-key).vaultPath: \"\" is empty",
            ),
            (
                Box::new(|p| p.secrets[0].vault_path = "waltid/../../sys/x".into()),
                ".vaultPath: \"waltid/../../sys/x\" has an empty, . or .. segment",
            ),
            (
                Box::new(|p| p.secrets[0].vault_path = "/abs".into()),
                "must not start or end with /",
            ),
            (
                Box::new(|p| p.secrets[0].vault_key.clear()),
                ".vaultKey: is empty",
            ),
            (
                Box::new(|p| p.secrets[0].policy.length = Some(0)),
                ".policy.length: 0 for a random value",
            ),
            (
                Box::new(|p| p.secrets[0].policy.charset = Some("klingon".into())),
                ".policy.charset",
            ),
            (
                Box::new(|p| {
                    let d = p.secrets[0].clone();
                    p.secrets.push(d)
                }),
                "is planned twice",
            ),
        ];
        for (break_it, expect) in cases {
            let mut p = plan();
            break_it(&mut p);
            let e = check(&p, "p.json").unwrap_err();
            assert_eq!(e.exit, wd_core::Exit::Usage);
            assert!(e.message.contains(expect), "{expect:?} not in {e}");
        }
    }
}
