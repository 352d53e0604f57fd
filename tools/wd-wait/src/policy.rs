//! What "ready" means per kind (the policy wd-wait adds on top of kube-rs' watchers).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Ready(String),
    Failed(String),
    Pending(String),
}

fn n(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn is_true(c: Option<&Value>) -> bool {
    c.is_some_and(|c| c["status"] == "True")
}

fn generation_observed(generation: Option<i64>, obj: &Value) -> bool {
    generation.is_none_or(|g| {
        obj["status"]["observedGeneration"]
            .as_i64()
            .is_some_and(|o| o >= g)
    })
}

/// Readiness of one object, by kind: `generation` is `metadata.generation`, `obj` the rest of
/// the object (`spec`, `status`), as kube's `DynamicObject` holds it. Reads, never copies.
pub fn evaluate(kind: &str, generation: Option<i64>, obj: &Value) -> State {
    let st = &obj["status"];
    match kind {
        "Deployment" => {
            let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            if let Some(c) = condition(obj, "Progressing") {
                if c["reason"] == "ProgressDeadlineExceeded" {
                    return State::Failed(format!(
                        "rollout stuck: {}",
                        c["message"]
                            .as_str()
                            .unwrap_or("progress deadline exceeded")
                    ));
                }
            }
            let (upd, avail) = (n(&st["updatedReplicas"]), n(&st["availableReplicas"]));
            let msg = format!("{avail}/{want} replicas available, {upd} updated");
            if generation_observed(generation, obj)
                && upd >= want
                && avail >= want
                && n(&st["replicas"]) <= want.max(n(&st["updatedReplicas"]))
            {
                State::Ready(msg)
            } else {
                State::Pending(msg)
            }
        }
        "StatefulSet" => {
            let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            let ready = n(&st["readyReplicas"]);
            let updated = st["updatedReplicas"].as_i64().unwrap_or(ready);
            let msg = format!("{ready}/{want} replicas ready");
            if generation_observed(generation, obj) && ready >= want && updated >= want {
                State::Ready(msg)
            } else {
                State::Pending(msg)
            }
        }
        "DaemonSet" => {
            let want = n(&st["desiredNumberScheduled"]);
            let (ready, upd) = (n(&st["numberReady"]), n(&st["updatedNumberScheduled"]));
            let msg = format!("{ready}/{want} pods ready");
            if generation_observed(generation, obj) && ready >= want && upd >= want {
                State::Ready(msg)
            } else {
                State::Pending(msg)
            }
        }
        "Job" => {
            if is_true(condition(obj, "Complete")) {
                State::Ready("completed".into())
            } else if let Some(c) = condition(obj, "Failed").filter(|c| c["status"] == "True") {
                State::Failed(format!(
                    "job failed: {}: {}",
                    c["reason"].as_str().unwrap_or(""),
                    c["message"].as_str().unwrap_or("")
                ))
            } else {
                State::Pending(format!(
                    "{} active, {} succeeded, {} failed",
                    n(&st["active"]),
                    n(&st["succeeded"]),
                    n(&st["failed"])
                ))
            }
        }
        "Pod" => {
            let phase = st["phase"].as_str().unwrap_or("Pending");
            if phase == "Succeeded" || is_true(condition(obj, "Ready")) {
                State::Ready(phase.into())
            } else if phase == "Failed" {
                State::Failed(format!(
                    "pod failed: {}",
                    st["message"].as_str().unwrap_or("")
                ))
            } else {
                State::Pending(phase.into())
            }
        }
        "PersistentVolumeClaim" => match st["phase"].as_str() {
            Some("Bound") => State::Ready("Bound".into()),
            Some("Lost") => State::Failed("volume lost".into()),
            other => State::Pending(other.unwrap_or("Pending").into()),
        },
        // Custom resources: CloudNativePG Cluster, ExternalSecret, Certificate, … (Ready or Available).
        _ => {
            let c = condition(obj, "Ready").or_else(|| condition(obj, "Available"));
            match c {
                Some(c) if c["status"] == "True" => {
                    State::Ready(c["type"].as_str().unwrap_or("Ready").into())
                }
                Some(c) => State::Pending(format!(
                    "{}: {}",
                    c["reason"].as_str().unwrap_or("not ready"),
                    c["message"].as_str().unwrap_or("")
                )),
                None => State::Pending(
                    st["phase"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| "no Ready condition yet".into()),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evaluate(kind: &str, obj: &Value) -> State {
        super::evaluate(kind, obj["metadata"]["generation"].as_i64(), obj)
    }

    #[test]
    fn deployments_need_the_new_generation_available() {
        let mut d = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}});
        assert!(
            matches!(evaluate("Deployment", &d), State::Pending(_)),
            "old generation observed"
        );
        d["status"]["observedGeneration"] = json!(2);
        assert!(matches!(evaluate("Deployment", &d), State::Ready(_)));
        d["status"]["conditions"] = json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "too slow"}]);
        assert_eq!(
            evaluate("Deployment", &d),
            State::Failed("rollout stuck: too slow".into())
        );
    }

    #[test]
    fn jobs_pods_pvcs_and_custom_resources() {
        assert_eq!(
            evaluate(
                "Job",
                &json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}})
            ),
            State::Ready("completed".into())
        );
        assert!(
            matches!(evaluate("Job", &json!({"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}})), State::Failed(m) if m.contains("BackoffLimitExceeded"))
        );
        assert!(matches!(
            evaluate(
                "Pod",
                &json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})
            ),
            State::Ready(_)
        ));
        assert!(matches!(
            evaluate(
                "PersistentVolumeClaim",
                &json!({"status": {"phase": "Bound"}})
            ),
            State::Ready(_)
        ));
        assert!(matches!(
            evaluate(
                "Cluster",
                &json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
            ),
            State::Ready(_)
        ));
        assert!(
            matches!(evaluate("ExternalSecret", &json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "SecretSyncedError", "message": "no such key"}]}})), State::Pending(m) if m.contains("no such key"))
        );
        assert!(matches!(
            evaluate("Certificate", &json!({})),
            State::Pending(_)
        ));
    }
}
