//! What is a secret, and how to hide it: the ONE home of wd-inventory's secret detection.
//!
//! Three kinds of evidence, all documented here and nowhere else:
//! 1. **Names** ([`classify`], [`is_secret_field`]): a table of well-known secret names
//!    ([`KNOWN`], with what each one is), walt.id's secret config fields
//!    ([`WALTID_SECRET_FIELDS`]), words that make any name a credential ([`SECRET_WORDS`])
//!    and last words that do ([`SECRET_SUFFIXES`]). `DB_PASS`, `PGPASSWORD`, `RABBITMQ_DEFAULT_PASS`, `DATABASE_URL`,
//!    `CREDENTIALS`, `*_KEY` are secrets; `*_FILE`/`*_PATH` pointers and `PUBLIC_KEY` are not.
//! 2. **Values** ([`redact_text`]): credentials inside a string whatever its name: URL userinfo
//!    (`postgresql+psycopg2://airflow:***@postgres/airflow`, `redis://:***@redis:6379`,
//!    `amqp://u:***@mq`), `key=value` pairs whose key is a secret name (JDBC/ODBC/query strings:
//!    `;password=***`, `?access_token=***`) and `Bearer`/`Basic` authorization values.
//! 3. **Command lines** ([`redact_args`]): `--password=…`, `--password …`, `-storepass …`,
//!    `-keypass …`, mysql's glued `-p…`, `redis-cli -a …`, `curl -u user:…`, `NAME=value` words
//!    whose NAME is a secret, and everything of 2. inside each word (shell strings word by word).
//!
//! Only the secret part is replaced, by [`MASK`]; references (`$X`, `${X}`) are kept, they are
//! not values. When in doubt we redact: a hidden non-secret costs a look at the compose file, a
//! printed secret cannot be taken back.

use wd_core::docs::inventory::SecretReason;

/// What replaces the secret part of a string.
pub const MASK: &str = "***";

/// Well-known secret environment variables, with what they hold. A name listed here is a secret
/// even when no word rule matches (`PGPASSWORD` is one word, `DATABASE_URL` names a pointer).
pub const KNOWN: &[(&str, &str)] = &[
    ("PGPASSWORD", "PostgreSQL client password"),
    ("POSTGRES_PASSWORD", "PostgreSQL superuser password"),
    ("MYSQL_ROOT_PASSWORD", "MySQL root password"),
    ("MYSQL_PWD", "MySQL client password"),
    ("MARIADB_ROOT_PASSWORD", "MariaDB root password"),
    ("MONGO_INITDB_ROOT_PASSWORD", "MongoDB root password"),
    ("RABBITMQ_DEFAULT_PASS", "RabbitMQ default user's password"),
    ("RABBITMQ_ERLANG_COOKIE", "RabbitMQ cluster cookie"),
    ("REDIS_PASSWORD", "Redis password"),
    ("DATABASE_URL", "database URL (usually with credentials)"),
    ("DB_URL", "database URL (usually with credentials)"),
    ("REDIS_URL", "Redis URL (may carry a password)"),
    ("BROKER_URL", "message broker URL (may carry a password)"),
    (
        "CELERY_BROKER_URL",
        "Celery broker URL (may carry a password)",
    ),
    (
        "CELERY_RESULT_BACKEND",
        "Celery result backend URL (may carry a password)",
    ),
    (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "Airflow metadata database URL",
    ),
    (
        "AIRFLOW__CORE__SQL_ALCHEMY_CONN",
        "Airflow metadata database URL",
    ),
    ("AIRFLOW__CELERY__BROKER_URL", "Airflow Celery broker URL"),
    (
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "Airflow Celery result backend URL",
    ),
    ("SENTRY_DSN", "Sentry DSN (carries the project key)"),
    ("CREDENTIALS", "credentials"),
    ("AWS_ACCESS_KEY_ID", "AWS access key id"),
    ("AWS_SESSION_TOKEN", "AWS session token"),
    ("MINIO_ROOT_USER", "MinIO root access key"),
    ("MINIO_ACCESS_KEY", "MinIO access key"),
    ("HTPASSWD", "htpasswd entries (password hashes)"),
    ("KC_DB_PASSWORD", "Keycloak database password"),
    ("KEYCLOAK_ADMIN_PASSWORD", "Keycloak admin password"),
    ("VAULT_DEV_ROOT_TOKEN_ID", "Vault dev-mode root token"),
    ("VAULT_TOKEN", "Vault token"),
];

/// walt.id config fields that hold (or point at) secrets (waltid-facts §2).
pub const WALTID_SECRET_FIELDS: &[&str] = &[
    "ciTokenKey",
    "requestSigningKeyFile",
    "encryptionKey",
    "signKey",
    "tokenKey",
    "signingKey",
    "pepper",
    "password",
    "clientSecret",
];

/// A config file field (HOCON/JSON/YAML key) that holds a secret: a walt.id secret field or a
/// name [`classify`] recognises.
pub fn is_secret_field(key: &str) -> bool {
    WALTID_SECRET_FIELDS.contains(&key) || classify(key).is_some()
}

/// Words that make a name a credential wherever they stand (`DB_PASSWORD_HASH`,
/// `CLIENT_SECRET_VALUE`). Not CREDENTIAL (singular): in walt.id configs it names verifiable
/// credentials (`KycChecksCredential`); CREDENTIALS (plural) is a secret word.
pub const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWORDS",
    "PASSWD",
    "PWD",
    "PASSPHRASE",
    "SECRET",
    "SECRETS",
    "PRIVATE",
    "APIKEY",
    "PEPPER",
    "CREDENTIALS",
    "CREDS",
    "COOKIE",
];

/// Last words that make a name a credential (`DB_PASS`, `SMTP_PW`, `API_KEY`, `SQL_ALCHEMY_CONN`,
/// `SENTRY_DSN`, `PASSWORD_SALT`). `KEY` does not count after `PUBLIC`.
pub const SECRET_SUFFIXES: &[&str] = &[
    "PASS",
    "PW",
    "KEY",
    "CONN",
    "DSN",
    "SALT",
    "AUTH",
    "SIGNATURE",
];

/// Last words that name a pointer to a secret, not the secret (a path, a file, an endpoint).
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
    let mut out = String::with_capacity(name.len() + 4);
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

fn reason(rule: &str, detail: String) -> Option<SecretReason> {
    Some(SecretReason {
        rule: rule.into(),
        detail,
    })
}

/// Whether an environment variable (or config key) names a secret, and why.
pub fn classify(name: &str) -> Option<SecretReason> {
    let up = upper_snake(name);
    let bare = up.trim_start_matches('_');
    if let Some((_, what)) = KNOWN.iter().find(|(k, _)| *k == bare) {
        return reason("known", format!("well-known secret name: {what}"));
    }
    let words: Vec<&str> = bare.split('_').filter(|w| !w.is_empty()).collect();
    let last = *words.last()?;
    if POINTER_WORDS.contains(&last) {
        return None;
    }
    if let Some(w) = words.iter().find(|w| SECRET_WORDS.contains(w)) {
        return reason("name-rule", format!("name contains {w}"));
    }
    if let Some(i) = words.iter().position(|w| *w == "TOKEN" || *w == "TOKENS") {
        let after = words.get(i + 1);
        if after.is_none_or(|a| !TOKEN_META.contains(a)) {
            return reason("name-rule", "name contains TOKEN".into());
        }
    }
    if SECRET_SUFFIXES.contains(&last) {
        let public_key = last == "KEY" && words.len() >= 2 && words[words.len() - 2] == "PUBLIC";
        // A lone `KEY` / `AUTH` says nothing; `API_KEY`, `DB_PASS`, `PASS` do.
        let lone = words.len() == 1 && matches!(last, "KEY" | "AUTH" | "SIGNATURE");
        if !public_key && !lone {
            return reason("name-rule", format!("name ends in {last}"));
        }
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

/// Why a value (whatever its name) carries a credential, or None.
pub fn value_reason(value: &str) -> Option<SecretReason> {
    let masked = redact_text(value);
    (masked != value).then(|| SecretReason {
        rule: "value-rule".into(),
        detail: "value carries a credential (URL userinfo, password= or Bearer token)".into(),
    })
}

/// A reference the container resolves (`$X`, `${X}`): not a value, never masked.
fn is_reference(v: &str) -> bool {
    let v = v.trim_matches(|c| c == '"' || c == '\'');
    v.starts_with('$') || v.is_empty()
}

/// Masks credentials inside free text: URL userinfo, `key=value` pairs with a secret key,
/// `Bearer`/`Basic` values. Returns the text unchanged when there is nothing to hide.
pub fn redact_text(text: &str) -> String {
    let t = redact_urls(text);
    let t = redact_pairs(&t);
    redact_auth_schemes(&t)
}

/// `scheme://user:password@host` → `scheme://user:***@host`; `scheme://token@host` →
/// `scheme://***@host`.
fn redact_urls(text: &str) -> String {
    if !text.contains("://") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let auth_start = i + 3;
        out.push_str(&rest[..auth_start]);
        let after = &rest[auth_start..];
        let end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == '"' || c == '\''
            })
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.split_once(':') {
                    Some((user, pw)) if !is_reference(pw) => {
                        out.push_str(user);
                        out.push(':');
                        out.push_str(MASK);
                    }
                    Some(_) => out.push_str(userinfo),
                    None if is_reference(userinfo) => out.push_str(userinfo),
                    None => out.push_str(MASK),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// `…password=x;…`, `?access_token=x&…`, `secret: x` inside text: the value after a secret key.
fn redact_pairs(text: &str) -> String {
    if !text.contains('=') {
        return text.to_string();
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'=' {
            i += 1;
            continue;
        }
        let mut k = i;
        while k > 0 && (b[k - 1].is_ascii_alphanumeric() || matches!(b[k - 1], b'_' | b'.')) {
            k -= 1;
        }
        let key = &text[k..i];
        let vstart = i + 1;
        let mut vend = vstart;
        while vend < b.len()
            && !matches!(
                b[vend],
                b'&' | b';' | b',' | b' ' | b'\t' | b'\n' | b'"' | b'\'' | b')'
            )
        {
            vend += 1;
        }
        let value = &text[vstart..vend];
        if !key.is_empty() && classify(key).is_some() && !is_reference(value) {
            out.push_str(&text[last..vstart]);
            out.push_str(MASK);
            last = vend;
        }
        i = vend.max(i + 1);
    }
    out.push_str(&text[last..]);
    out
}

/// `Bearer <token>` / `Basic <base64>` (any case): the token.
fn redact_auth_schemes(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if !lower.contains("bearer") && !lower.contains("basic") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &lower[i..];
        let skip = if rest.starts_with("bearer ") {
            7
        } else if rest.starts_with("basic ") {
            6
        } else {
            0
        };
        let word_start = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if skip == 0 || !word_start {
            i += 1;
            continue;
        }
        let mut s = i + skip;
        while s < b.len() && b[s] == b' ' {
            s += 1;
        }
        let mut e = s;
        while e < b.len() && !matches!(b[e], b' ' | b'\t' | b'\n' | b'"' | b'\'' | b',') {
            e += 1;
        }
        let token = &text[s..e];
        // `Basic` takes base64 (`Basic dXNlcjpwdw==`), not prose (`basic text`).
        let base64 = token.len() >= 8
            && token
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='));
        if e > s && !is_reference(token) && (skip == 7 || base64) {
            out.push_str(&text[last..s]);
            out.push_str(MASK);
            last = e;
        }
        i = e.max(i + 1);
    }
    out.push_str(&text[last..]);
    out
}

/// Whether a command-line flag (without its dashes) takes a secret value: a secret name
/// (`password`, `token`, `dev-root-token-id`) or one that ends in `pass`/`password`/`secret`
/// (`storepass`, `keypass`, `srcstorepass`).
fn secret_flag(flag: &str) -> bool {
    let l = flag.to_ascii_lowercase();
    classify(flag).is_some()
        || ["pass", "passwd", "password", "pwd", "secret", "token"]
            .iter()
            .any(|s| l.ends_with(s))
}

/// Redacts secret values in command arguments (exec form; a shell string is handled word by
/// word): see the module documentation for the rules.
pub fn redact_args(args: &mut [String]) {
    let redis_cli = args.iter().any(|a| a.contains("redis-cli"));
    let mysql = args.iter().any(|a| {
        let l = a.to_ascii_lowercase();
        l.contains("mysql") || l.contains("mariadb")
    });
    let mut redact_next = false;
    let mut user_next = false;
    for a in args.iter_mut() {
        if redact_next || user_next {
            let was_user = user_next;
            redact_next = false;
            user_next = false;
            if !a.starts_with('-') && !is_reference(a) {
                if was_user {
                    if let Some((u, p)) = a.split_once(':') {
                        if !is_reference(p) {
                            *a = format!("{u}:{MASK}");
                        }
                    }
                } else {
                    *a = MASK.into();
                }
                continue;
            }
        }
        // A shell string (CMD-SHELL, `sh -c '…'`) holds several words: redact inside it.
        if a.contains(char::is_whitespace) {
            *a = redact_shell(a);
            continue;
        }
        let flag = a.trim_start_matches('-');
        let dashes = a.len() - flag.len();
        if dashes > 0 {
            if let Some((k, v)) = flag.split_once('=') {
                if secret_flag(k) && !is_reference(v) {
                    *a = format!("{}{MASK}", &a[..dashes + k.len() + 1]);
                    continue;
                }
            } else if secret_flag(flag) || (redis_cli && flag == "a") {
                redact_next = true;
                continue;
            } else if matches!(a.as_str(), "-u" | "--user") {
                user_next = true;
                continue;
            } else if mysql && dashes == 1 && flag.len() > 1 && flag.starts_with('p') {
                // mysql/mysqladmin `-psecret`; a port (`-p5432`) is digits only.
                let v = &flag[1..];
                if !v.bytes().all(|c| c.is_ascii_digit()) && !is_reference(v) {
                    *a = format!("-p{MASK}");
                    continue;
                }
            }
        } else if let Some((k, v)) = a.split_once('=') {
            if classify(k).is_some() && !is_reference(v) && !k.is_empty() {
                *a = format!("{k}={MASK}");
                continue;
            }
        }
        let masked = redact_text(a);
        if masked != *a {
            *a = masked;
        }
    }
}

/// A shell command string: words split on whitespace (quotes kept on the words), each word
/// redacted like an argument, separators kept as written.
pub fn redact_shell(s: &str) -> String {
    let text = redact_text(s);
    let s = text.as_str();
    let mut words: Vec<String> = Vec::new();
    let mut seps: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut sep = String::new();
    for c in s.chars() {
        if c.is_whitespace() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            sep.push(c);
        } else {
            if cur.is_empty() {
                seps.push(std::mem::take(&mut sep));
            }
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    // Quotes around a word (`-p'secret'`, `--password="x"`) do not hide it from the rules.
    let mut bare: Vec<String> = words.iter().map(|w| w.replace(['\'', '"'], "")).collect();
    let before = bare.clone();
    redact_args(&mut bare);
    let mut out = String::with_capacity(s.len());
    for (i, w) in words.iter().enumerate() {
        out.push_str(&seps[i]);
        if bare[i] == before[i] {
            out.push_str(w);
        } else {
            let quote = |c: char| c == '\'' || c == '"';
            let quotes = w.chars().filter(|c| quote(*c)).count();
            let lead = w.starts_with(quote);
            let trail = w.ends_with(quote) && (lead || quotes % 2 == 1);
            if lead {
                out.push_str(&w[..1]);
            }
            out.push_str(&bare[i]);
            if trail {
                out.push_str(&w[w.len() - 1..]);
            }
        }
    }
    out.push_str(&sep);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "-storepass",
            "changeit",
            "-pS3cret",
            "-p5432",
            "mysqladmin",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        redact_args(&mut a);
        assert_eq!(a[1], "-dev-root-token-id=***");
        assert_eq!(a[3], "***");
        assert_eq!(a[5], "u");
        assert_eq!(a[6], "DB_PASSWORD=***");
        assert_eq!(a[7], "--token=${TOKEN}", "a reference is not a secret");
        assert_eq!(a[8], "sh -c 'mysql --password=***'");
        assert_eq!(a[10], "***");
        assert_eq!(a[11], "-p***");
        assert_eq!(a[12], "-p5432", "a port");
    }

    #[test]
    fn shell_strings_keep_their_shape() {
        assert_eq!(
            redact_shell("mysqladmin ping -h localhost -uroot -p'r00t' || exit 1"),
            "mysqladmin ping -h localhost -uroot -p*** || exit 1"
        );
        assert_eq!(
            redact_shell("redis-cli -a hunter2 ping"),
            "redis-cli -a *** ping"
        );
        assert_eq!(
            redact_shell("curl -fsS -H 'Authorization: Bearer abc.def' http://x/"),
            "curl -fsS -H 'Authorization: Bearer ***' http://x/"
        );
        assert_eq!(
            redact_shell("pg_isready -U $$POSTGRES_USER -p 5432"),
            "pg_isready -U $$POSTGRES_USER -p 5432"
        );
    }

    #[test]
    fn values() {
        assert_eq!(
            redact_text("postgresql+psycopg2://airflow:airflow@postgres/airflow"),
            "postgresql+psycopg2://airflow:***@postgres/airflow"
        );
        assert_eq!(
            redact_text("redis://:pw@redis:6379/0"),
            "redis://:***@redis:6379/0"
        );
        assert_eq!(
            redact_text("https://tok@github.com/x"),
            "https://***@github.com/x"
        );
        assert_eq!(
            redact_text("jdbc:sqlserver://db;user=sa;password=Xx1;encrypt=true"),
            "jdbc:sqlserver://db;user=sa;password=***;encrypt=true"
        );
        assert_eq!(
            redact_text("jdbc:postgresql://db/x?user=a&password=b"),
            "jdbc:postgresql://db/x?user=a&password=***"
        );
        assert_eq!(redact_text("Bearer eyJabc"), "Bearer ***");
        assert_eq!(
            redact_text("Authorization: Basic dXNlcjpwYXNz"),
            "Authorization: Basic ***"
        );
        assert_eq!(redact_text("basic text format"), "basic text format");
        assert_eq!(
            redact_text("http://${USER}:${PASS}@h/"),
            "http://${USER}:${PASS}@h/",
            "references stay"
        );
        assert_eq!(
            redact_text("http://keycloak:8080/realms/x"),
            "http://keycloak:8080/realms/x"
        );
        assert!(value_reason("amqp://u:p@mq:5672//").is_some());
        assert!(value_reason("plain").is_none());
    }

    #[test]
    fn names() {
        for s in [
            "DB_PASSWORD",
            "DB_PASS",
            "PGPASSWORD",
            "RABBITMQ_DEFAULT_PASS",
            "DATABASE_URL",
            "CREDENTIALS",
            "WALLET_SIGN_KEY",
            "WALLET_OIDC_CLIENT_SECRET",
            "API_KEY",
            "GITHUB_TOKEN",
            "VAULT_DEV_ROOT_TOKEN_ID",
            "AIRFLOW__CORE__FERNET_KEY",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            "_AIRFLOW_WWW_USER_PASSWORD",
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
            "KEYCLOAK_URL",
        ] {
            assert!(classify(s).is_none(), "{s}");
        }
        let r = classify("KEYCLOAK_ADMIN_PASSWORD").unwrap();
        assert_eq!(r.rule, "known");
        assert!(!r.detail.contains("walt.id"), "{}", r.detail);
        assert_eq!(upper_snake("issTokenClaim"), "ISS_TOKEN_CLAIM");
        assert!(classify("issTokenClaim").is_none());
    }

    #[test]
    fn placeholders() {
        assert!(is_placeholder("\"**********\"") && is_placeholder("<url>") && is_placeholder(""));
        assert!(!is_placeholder("waltid"));
    }
}
