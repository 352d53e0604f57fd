//! Which names denote secrets.

use wd_core::docs::inventory::SecretReason;

/// Environment variables known to be secrets in the walt.id scenario (waltid-facts §1, §3).
const KNOWN: &[&str] = &[
    "POSTGRES_PASSWORD",
    "DB_PASSWORD",
    "WALLET_ENCRYPTION_KEY",
    "WALLET_SIGN_KEY",
    "WALLET_TOKEN_KEY",
    "WALLET_OIDC_CLIENT_SECRET",
    "KEYCLOAK_ADMIN_PASSWORD",
    "KC_DB_PASSWORD",
    "VAULT_DEV_ROOT_TOKEN_ID",
    "VAULT_TOKEN",
    "DEMO_ACCOUNT_PASSWORD",
];

/// Words that make a name a credential wherever they stand. (Not CREDENTIAL: in walt.id
/// configs it names verifiable credentials, e.g. `KycChecksCredential`.)
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PWD",
    "SECRET",
    "SECRETS",
    "PRIVATE",
    "APIKEY",
    "PEPPER",
    "PASSPHRASE",
];

/// Last words that name a pointer to a secret, not the secret (a path, a file, an id).
const POINTER_WORDS: &[&str] = &["FILE", "PATH", "DIR", "URL", "URI", "ENDPOINT"];

/// Last words after TOKEN that describe a token rather than hold one.
const TOKEN_META: &[&str] = &[
    "LIFETIME",
    "DAYS",
    "TTL",
    "EXPIRY",
    "EXPIRATION",
    "TYPE",
    "HEADER",
    "CLAIM",
    "ALG",
    "ALGORITHM",
    "ISSUER",
    "AUDIENCE",
];

/// `camelCase` / `kebab-case` / `dotted.name` → `UPPER_SNAKE`.
pub fn upper_snake(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        if c == '-' || c == '.' {
            out.push('_');
            prev_lower = false;
            continue;
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Whether an environment variable (or config key) names a secret, and why.
pub fn classify(name: &str) -> Option<SecretReason> {
    let up = upper_snake(name);
    if KNOWN.contains(&up.as_str()) {
        return Some(SecretReason {
            rule: "known".into(),
            detail: "listed as a secret of the walt.id scenario".into(),
        });
    }
    let words: Vec<&str> = up.split('_').filter(|w| !w.is_empty()).collect();
    let last = *words.last()?;
    if POINTER_WORDS.contains(&last) {
        return None;
    }
    if let Some(w) = words.iter().find(|w| SECRET_WORDS.contains(w)) {
        return Some(SecretReason {
            rule: "name-rule".into(),
            detail: format!("name contains {w}"),
        });
    }
    if let Some(i) = words.iter().position(|w| *w == "TOKEN") {
        let after = words.get(i + 1);
        if after.is_none_or(|a| !TOKEN_META.contains(a)) {
            return Some(SecretReason {
                rule: "name-rule".into(),
                detail: "name contains TOKEN".into(),
            });
        }
    }
    if last == "KEY" && words.len() >= 2 && words[words.len() - 2] != "PUBLIC" {
        return Some(SecretReason {
            rule: "name-rule".into(),
            detail: "name ends in KEY".into(),
        });
    }
    None
}

/// A value that is clearly not a real credential: empty, a mask or a `<placeholder>`.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim().trim_matches('"');
    v.is_empty()
        || v == "null"
        || v.chars().all(|c| c == '*')
        || (v.starts_with('<') && v.ends_with('>'))
}

/// What a redacted value is replaced with in command lines.
pub const REDACTED: &str = "(redacted)";

/// Redacts secret values in command arguments: `--password=x`, `-dev-root-token-id="x"`,
/// `--token x`, and `NAME=value` words whose NAME is a secret.
pub fn redact_args(args: &mut [String]) {
    let mut redact_next = false;
    for a in args.iter_mut() {
        if redact_next {
            redact_next = false;
            if !a.starts_with('-') {
                *a = REDACTED.into();
                continue;
            }
        }
        // A shell string (CMD-SHELL) may hold several words: redact inside it word by word.
        if a.contains(' ') {
            let mut words: Vec<String> = a.split(' ').map(str::to_string).collect();
            redact_args(&mut words);
            *a = words.join(" ");
            continue;
        }
        let flag = a.trim_start_matches('-');
        match flag.split_once('=') {
            Some((k, v)) if !v.is_empty() && !v.starts_with('$') && classify(k).is_some() => {
                let prefix_len = a.len() - flag.len() + k.len() + 1;
                *a = format!("{}{REDACTED}", &a[..prefix_len]);
            }
            None if a.starts_with('-') && classify(flag).is_some() => redact_next = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_arguments() {
        let mut a: Vec<String> = [
            "server",
            "-dev-root-token-id=\"dev-only-token\"",
            "--password",
            "pw",
            "--user",
            "u",
            "DB_PASSWORD=x",
            "--token=${TOKEN}",
            "sh -c 'mysql --password=abc'",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        super::redact_args(&mut a);
        assert_eq!(a[1], "-dev-root-token-id=(redacted)");
        assert_eq!(a[3], "(redacted)");
        assert_eq!(a[5], "u");
        assert_eq!(a[6], "DB_PASSWORD=(redacted)");
        assert_eq!(a[7], "--token=${TOKEN}", "a reference is not a secret");
        assert!(!a[8].contains("abc"));
    }

    use super::*;

    #[test]
    fn names() {
        for s in [
            "DB_PASSWORD",
            "WALLET_SIGN_KEY",
            "WALLET_OIDC_CLIENT_SECRET",
            "API_KEY",
            "GITHUB_TOKEN",
            "VAULT_DEV_ROOT_TOKEN_ID",
            "encryptionKey",
            "clientSecret",
            "tokenKey",
            "ciTokenKey",
            "pepper",
            "password",
        ] {
            assert!(classify(s).is_some(), "{s}");
        }
        for s in [
            "DB_USERNAME",
            "WALLET_TOKEN_LIFETIME_DAYS",
            "ISSUER_API_PORT",
            "SERVICE_HOST",
            "TLS_KEY_FILE",
            "PUBLIC_KEY",
            "DB_PASSWORD_FILE",
            "KEYCLOAK_ADMIN",
            "keyType",
            "requestSigningKeyFile",
        ] {
            assert!(classify(s).is_none(), "{s}");
        }
        assert_eq!(classify("KEYCLOAK_ADMIN_PASSWORD").unwrap().rule, "known");
        assert_eq!(upper_snake("issTokenClaim"), "ISS_TOKEN_CLAIM");
        assert!(classify("issTokenClaim").is_none());
    }

    #[test]
    fn placeholders() {
        assert!(is_placeholder("\"**********\"") && is_placeholder("<url>") && is_placeholder(""));
        assert!(!is_placeholder("waltid"));
    }
}
