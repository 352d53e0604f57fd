//! The SecretPlan as wd-secrets may act on it: every Vault location non-empty and inside the
//! mount (no empty, `.` or `..` segments), every value generated non-empty, no key planned twice.
//! A plan that breaks one of these is bad input (exit 2, one line naming the file, the secret,
//! the field and the fix) and Vault is never asked: a plan written by hand or by another release
//! must not write `""` on every seed, or outside the planned paths.

use wd_core::docs::secret_plan::SecretPlan;
use wd_core::{WdError, WdResult};

const FIX: &str = "fix config/secrets.yaml and re-render (wd-render), or fix the plan";

/// Checks `plan` (read from `source`) with the plan's own rules ([`SecretPlan::problem`]);
/// the first problem is the error.
pub fn check(plan: &SecretPlan, source: &str) -> WdResult<()> {
    let Some(p) = plan.problem() else {
        return Ok(());
    };
    Err(WdError::input(match p.secret {
        None => format!("{source}: {} {}; {FIX}", p.field, p.message),
        Some((i, name)) => format!(
            "{source}: secrets[{i}] ({}).{}: {}; {FIX}",
            if name.is_empty() { "?" } else { &name },
            p.field,
            p.message
        ),
    }))
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
