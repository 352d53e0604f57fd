//! walt.id's credential data functions, the subset a load test uses: an IssuanceRequest's
//! `mapping` holds `"<name>"` or `"<name:args>"` strings that are evaluated at issuance and merged
//! into `credentialData` (waltid-w3c-credentials `issuance/DataFunctions.kt`): `uuid`,
//! `subjectDid`, `issuerDid`, `timestamp`, `timestamp-seconds`, `timestamp-in[-seconds]:D`,
//! `timestamp-before[-seconds]:D` with D a Kotlin duration like `1d`, `12h`, `30m 10s`.
//! Timestamps are ISO-8601 UTC with whole seconds.

use serde_json::{json, Map, Value};

/// What the functions read: now (epoch seconds), the DIDs, a source of UUIDs.
pub struct Context<'a> {
    pub now: u64,
    pub issuer_did: &'a str,
    pub subject_did: &'a str,
    pub uuid: &'a dyn Fn() -> String,
}

/// Evaluates `mapping` and merges it into `data`; `Err` names a function the fake lacks.
pub fn apply(data: &mut Value, mapping: &Value, cx: &Context) -> Result<(), String> {
    match (data, mapping) {
        (Value::Object(d), Value::Object(m)) => {
            for (k, v) in m {
                if v.is_object() {
                    let slot = d
                        .entry(k.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if !slot.is_object() {
                        *slot = Value::Object(Map::new());
                    }
                    apply(slot, v, cx)?;
                } else {
                    d.insert(k.clone(), eval(v, cx)?);
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn eval(v: &Value, cx: &Context) -> Result<Value, String> {
    let Some(call) = v
        .as_str()
        .and_then(|s| s.strip_prefix('<'))
        .and_then(|s| s.strip_suffix('>'))
    else {
        return Ok(v.clone());
    };
    let (name, args) = match call.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (call, None),
    };
    let offset = |sign: i64| -> Result<i64, String> {
        let a = args.ok_or_else(|| format!("data function <{name}> needs a duration argument"))?;
        duration(a)
            .map(|d| sign * d)
            .ok_or_else(|| format!("data function <{call}>: cannot parse the duration {a:?}"))
    };
    let at = |delta: i64| (cx.now as i64 + delta).max(0) as u64;
    Ok(match name {
        "uuid" => json!(format!("urn:uuid:{}", (cx.uuid)())),
        "subjectDid" => json!(cx.subject_did),
        "issuerDid" => json!(cx.issuer_did),
        "timestamp" => json!(iso8601(cx.now)),
        "timestamp-seconds" => json!(cx.now),
        "timestamp-in" => json!(iso8601(at(offset(1)?))),
        "timestamp-in-seconds" => json!(at(offset(1)?)),
        "timestamp-before" => json!(iso8601(at(offset(-1)?))),
        "timestamp-before-seconds" => json!(at(offset(-1)?)),
        other => {
            return Err(format!(
                "wd-waltfake does not implement the data function <{other}>"
            ))
        }
    })
}

/// Kotlin `Duration.parse` for the `1d 2h 30m 10s` form; seconds.
fn duration(s: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut any = false;
    for part in s.split_whitespace() {
        let unit_at = part.find(|c: char| !c.is_ascii_digit())?;
        let (n, unit) = part.split_at(unit_at);
        let n: i64 = n.parse().ok()?;
        total += n * match unit {
            "d" => 86400,
            "h" => 3600,
            "m" => 60,
            "s" => 1,
            _ => return None,
        };
        any = true;
    }
    any.then_some(total)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `YYYY-MM-DDTHH:MM:SSZ` of epoch seconds.
pub fn iso8601(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // civil_from_days
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Epoch seconds of an ISO-8601 UTC timestamp (`…Z`, fractional seconds ignored).
pub fn parse_iso8601(s: &str) -> Option<u64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, mo, da) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>());
    let (h, mi, se) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let secs = days_from_civil(y, mo, da) * 86400 + h * 3600 + mi * 60 + se;
    u64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        for secs in [0u64, 951_782_400, 1_700_000_000, 4_102_444_799] {
            assert_eq!(
                parse_iso8601(&iso8601(secs)),
                Some(secs),
                "{}",
                iso8601(secs)
            );
        }
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn a_mapping_fills_ids_dids_and_dates() {
        let uuid = || "u-1".to_string();
        let cx = Context {
            now: 1_700_000_000,
            issuer_did: "did:i",
            subject_did: "did:s",
            uuid: &uuid,
        };
        let mut data =
            json!({"issuer": {"id": "x", "name": "n"}, "credentialSubject": {"id": "x"}});
        let mapping = json!({"id": "<uuid>", "issuer": {"id": "<issuerDid>"},
            "credentialSubject": {"id": "<subjectDid>"}, "issuanceDate": "<timestamp>",
            "expirationDate": "<timestamp-in:1d>"});
        apply(&mut data, &mapping, &cx).unwrap();
        assert_eq!(data["id"], "urn:uuid:u-1");
        assert_eq!(data["issuer"], json!({"id": "did:i", "name": "n"}));
        assert_eq!(data["credentialSubject"]["id"], "did:s");
        assert_eq!(
            parse_iso8601(data["expirationDate"].as_str().unwrap()),
            Some(1_700_086_400)
        );
        let err = apply(&mut data, &json!({"x": "<webhook:http://x>"}), &cx).unwrap_err();
        assert!(err.contains("webhook"), "{err}");
    }
}
