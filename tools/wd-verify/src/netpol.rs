//! NetworkPolicy semantics (networking.k8s.io/v1), evaluated on pod templates:
//! a pod is isolated for a direction when a policy of its namespace selects it and lists that
//! direction in `policyTypes` (default: Ingress, plus Egress when `egress` is present); an
//! isolated pod accepts a flow when any rule of any selecting policy allows it (rules add up,
//! an empty rule list allows nothing, a rule without peers/ports matches all). Peers:
//! `podSelector` alone (the policy's namespace), `namespaceSelector` alone (every pod of the
//! matching namespaces; `kubernetes.io/metadata.name` is set on every namespace), both (pods
//! of the matching namespaces), `ipBlock` (external addresses; pod IPs are unknown before
//! apply, so an ipBlock never matches a pod). Ports by number, range (`endPort`) or name
//! (resolved on the destination pod's container ports), protocol default TCP.

use crate::model::{arr, proto, str_of, Index, IntOrStr, Selector};
use serde_json::Value;
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug, Clone)]
pub enum Peer {
    Pods {
        ns: Option<Selector>,
        pods: Option<Selector>,
    },
    Ip {
        cidr: (IpAddr, u8),
        except: Vec<(IpAddr, u8)>,
    },
}

#[derive(Debug, Clone)]
pub struct PortSpec {
    pub protocol: String,
    pub port: Option<IntOrStr>,
    pub end_port: Option<u16>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    /// Empty: every peer.
    pub peers: Vec<Peer>,
    /// Empty: every port.
    pub ports: Vec<PortSpec>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub obj: usize,
    pub name: String,
    pub namespace: String,
    pub selector: Selector,
    pub ingress: Option<Vec<Rule>>,
    pub egress: Option<Vec<Rule>>,
}

/// One end of a flow: a pod (template) of the index, or an address outside the cluster.
#[derive(Debug, Clone, Copy)]
pub enum End {
    Pod(usize),
    /// An external host; its IP when the URL named one.
    External(Option<IpAddr>),
}

fn cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (a, p) = s.split_once('/')?;
    Some((a.parse().ok()?, p.parse().ok()?))
}

fn in_cidr(ip: IpAddr, (net, len): (IpAddr, u8)) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let len = len.min(32) as u32;
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            (u32::from(a) & mask) == (u32::from(n) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let len = len.min(128) as u32;
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            (u128::from(a) & mask) == (u128::from(n) & mask)
        }
        _ => false,
    }
}

fn rules(v: Option<&Value>, peer_key: &str) -> Vec<Rule> {
    arr(v)
        .iter()
        .map(|r| Rule {
            peers: {
                let mut peers = vec![];
                for p in arr(r.get(peer_key)) {
                    if let Some(b) = p.get("ipBlock") {
                        // An unparsable CIDR matches nothing (the API server would reject it).
                        let any: (IpAddr, u8) = (IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);
                        peers.push(match cidr(str_of(b.get("cidr"))) {
                            Some(c) => Peer::Ip {
                                cidr: c,
                                except: arr(b.get("except"))
                                    .iter()
                                    .filter_map(|e| cidr(e.as_str()?))
                                    .collect(),
                            },
                            None => Peer::Ip {
                                cidr: any,
                                except: vec![any],
                            },
                        });
                        continue;
                    }
                    peers.push(Peer::Pods {
                        ns: p.get("namespaceSelector").map(Selector::parse),
                        pods: p.get("podSelector").map(Selector::parse),
                    });
                }
                peers
            },
            ports: arr(r.get("ports"))
                .iter()
                .map(|p| PortSpec {
                    protocol: proto(p.get("protocol")),
                    port: p.get("port").and_then(IntOrStr::from),
                    end_port: p.get("endPort").and_then(|e| e.as_u64()).map(|e| e as u16),
                })
                .collect(),
        })
        .collect()
}

pub struct Policies {
    pub all: Vec<Policy>,
    /// Policies whose podSelector has no matchLabels, by namespace.
    by_ns: HashMap<String, Vec<usize>>,
    /// Policies by (namespace, first `key=value` of matchLabels): a pod only probes its labels.
    by_label: HashMap<(String, String), Vec<usize>>,
}

impl Policies {
    pub fn build(ix: &Index) -> Policies {
        let mut all = vec![];
        let mut by_ns: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_label: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, o) in ix.of_kind("NetworkPolicy") {
            let spec = o.v.get("spec").cloned().unwrap_or(Value::Null);
            let types: Vec<&str> = arr(spec.get("policyTypes"))
                .iter()
                .filter_map(|t| t.as_str())
                .collect();
            let (ing, eg) = if types.is_empty() {
                (true, spec.get("egress").is_some())
            } else {
                (types.contains(&"Ingress"), types.contains(&"Egress"))
            };
            let selector = spec
                .get("podSelector")
                .map(Selector::parse)
                .unwrap_or_default();
            match selector.labels.iter().next() {
                Some((k, v)) => by_label
                    .entry((o.namespace.clone(), format!("{k}={v}")))
                    .or_default()
                    .push(all.len()),
                None => by_ns
                    .entry(o.namespace.clone())
                    .or_default()
                    .push(all.len()),
            }
            all.push(Policy {
                obj: i,
                name: o.name.clone(),
                namespace: o.namespace.clone(),
                selector,
                ingress: ing.then(|| rules(spec.get("ingress"), "from")),
                egress: eg.then(|| rules(spec.get("egress"), "to")),
            });
        }
        Policies {
            all,
            by_ns,
            by_label,
        }
    }

    fn selecting<'a>(&'a self, ix: &'a Index, pod: usize, egress: bool) -> Vec<&'a Policy> {
        let p = &ix.pods[pod];
        let mut cands: Vec<usize> = self.by_ns.get(&p.namespace).cloned().unwrap_or_default();
        for (k, v) in &p.labels {
            if let Some(l) = self
                .by_label
                .get(&(p.namespace.clone(), format!("{k}={v}")))
            {
                cands.extend(l);
            }
        }
        cands.sort_unstable();
        cands.dedup();
        cands
            .into_iter()
            .map(|i| &self.all[i])
            .filter(|pol| {
                (if egress {
                    pol.egress.is_some()
                } else {
                    pol.ingress.is_some()
                }) && pol.selector.matches(&p.labels)
            })
            .collect()
    }

    /// Does `pol`'s peer match `end`?
    pub fn peer_matches(ix: &Index, pol_ns: &str, peer: &Peer, end: End) -> bool {
        match (peer, end) {
            (Peer::Pods { ns, pods }, End::Pod(i)) => {
                let p = &ix.pods[i];
                let ns_ok = match ns {
                    None => p.namespace == pol_ns,
                    Some(sel) => sel.matches(&ix.ns_labels(&p.namespace)),
                };
                ns_ok && pods.as_ref().is_none_or(|s| s.matches(&p.labels))
            }
            (Peer::Pods { .. }, End::External(_)) => false,
            (Peer::Ip { .. }, End::Pod(_)) => false,
            (Peer::Ip { cidr, except }, End::External(ip)) => match ip {
                Some(ip) => in_cidr(ip, *cidr) && !except.iter().any(|e| in_cidr(ip, *e)),
                // An external host name: only a rule for every address (prefix 0) is sure to match.
                None => cidr.1 == 0 && except.is_empty(),
            },
        }
    }

    fn port_matches(ix: &Index, spec: &PortSpec, port: u16, protocol: &str, dst: End) -> bool {
        if spec.protocol != protocol {
            return false;
        }
        match &spec.port {
            None => true,
            Some(IntOrStr::Int(n)) => {
                let lo = *n as u16;
                port == lo || spec.end_port.is_some_and(|e| port >= lo && port <= e)
            }
            Some(IntOrStr::Str(name)) => match dst {
                End::Pod(i) => ix.pods[i].ports.iter().any(|p| {
                    p.name.as_deref() == Some(name) && p.port == port && p.protocol == protocol
                }),
                End::External(_) => false,
            },
        }
    }

    fn rule_allows(
        ix: &Index,
        pol: &Policy,
        r: &Rule,
        peer: End,
        dst: End,
        port: u16,
        protocol: &str,
    ) -> bool {
        (r.peers.is_empty()
            || r.peers
                .iter()
                .any(|p| Self::peer_matches(ix, &pol.namespace, p, peer)))
            && (r.ports.is_empty()
                || r.ports
                    .iter()
                    .any(|s| Self::port_matches(ix, s, port, protocol, dst)))
    }

    /// Egress of `src` to `dst` on `port`: Ok, or Err(names of the policies that isolate `src`).
    pub fn egress(
        &self,
        ix: &Index,
        src: usize,
        dst: End,
        port: u16,
        protocol: &str,
    ) -> Result<(), Vec<String>> {
        if ix.pods[src].platform {
            return Ok(());
        }
        let pols = self.selecting(ix, src, true);
        if pols.is_empty()
            || pols.iter().any(|pol| {
                pol.egress
                    .iter()
                    .flatten()
                    .any(|r| Self::rule_allows(ix, pol, r, dst, dst, port, protocol))
            })
        {
            return Ok(());
        }
        Err(pols.iter().map(|p| p.name.clone()).collect())
    }

    /// Ingress of `dst` from `src` on `port`.
    pub fn ingress(
        &self,
        ix: &Index,
        src: End,
        dst: usize,
        port: u16,
        protocol: &str,
    ) -> Result<(), Vec<String>> {
        if ix.pods[dst].platform {
            return Ok(());
        }
        let pols = self.selecting(ix, dst, false);
        if pols.is_empty()
            || pols.iter().any(|pol| {
                pol.ingress
                    .iter()
                    .flatten()
                    .any(|r| Self::rule_allows(ix, pol, r, src, End::Pod(dst), port, protocol))
            })
        {
            return Ok(());
        }
        Err(pols.iter().map(|p| p.name.clone()).collect())
    }

    /// Pods (of the index) a peer list names, for the unused-flow report. Empty peers and
    /// ipBlocks are not enumerated (they name every or external addresses).
    pub fn peer_pods(ix: &Index, pol: &Policy, r: &Rule) -> Vec<usize> {
        let mut out = vec![];
        for peer in &r.peers {
            if let Peer::Pods { ns, pods } = peer {
                let nss: Vec<String> = match ns {
                    None => vec![pol.namespace.clone()],
                    Some(sel) => ix
                        .pod_namespaces()
                        .filter(|n| sel.matches(&ix.ns_labels(n)))
                        .cloned()
                        .collect(),
                };
                for n in nss {
                    out.extend(ix.select(&n, pods.as_ref().unwrap_or(&Selector::default())));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    pub fn selected(&self, ix: &Index, pol: &Policy) -> Vec<usize> {
        ix.select(&pol.namespace, &pol.selector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn cidr_matching() {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
        assert!(in_cidr(ip, cidr("10.0.0.0/8").unwrap()));
        assert!(!in_cidr(ip, cidr("10.2.0.0/16").unwrap()));
        assert!(in_cidr(ip, cidr("0.0.0.0/0").unwrap()));
    }
}
