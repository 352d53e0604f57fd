//! What a run measures: per step counters, status codes, drift by service, and HdrHistogram
//! latencies sharded by worker thread (one histogram per VU would cost ~190 kB each: 190 MB at
//! 1,000 VUs; a shard's lock is only contended at the final merge).

use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;
use wd_core::docs::loadtest::Latency;

const SHARDS: usize = 4;
const SAMPLES: usize = 3;
/// 1 µs to 1 hour at 3 significant digits.
const HIGHEST_US: u64 = 3_600_000_000;

fn shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Relaxed) % SHARDS;
    }
    SHARD.with(|s| *s)
}

pub struct Hist {
    shards: Vec<Mutex<Histogram<u64>>>,
}

impl Default for Hist {
    fn default() -> Self {
        Hist {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("valid bounds"))
                })
                .collect(),
        }
    }
}

impl Hist {
    pub fn record(&self, d: Duration) {
        let us = (d.as_micros() as u64).clamp(1, HIGHEST_US);
        let mut h = self.shards[shard()]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        h.saturating_record(us);
    }

    pub fn summary(&self) -> Latency {
        let mut all = Histogram::<u64>::new_with_bounds(1, HIGHEST_US, 3).expect("valid bounds");
        for s in &self.shards {
            let h = s.lock().unwrap_or_else(|p| p.into_inner());
            all.add(&*h).expect("same bounds");
        }
        if all.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            count: all.len(),
            mean_ms: all.mean() / 1000.0,
            p50_ms: ms(all.value_at_quantile(0.50)),
            p90_ms: ms(all.value_at_quantile(0.90)),
            p95_ms: ms(all.value_at_quantile(0.95)),
            p99_ms: ms(all.value_at_quantile(0.99)),
            max_ms: ms(all.max()),
        }
    }
}

/// Counters of one step.
pub struct StepMetrics {
    pub count: AtomicU64,
    pub requests: AtomicU64,
    pub ok: AtomicU64,
    pub errors: AtomicU64,
    pub drift: AtomicU64,
    /// Index = status code (100..=599); others in `other`.
    status: Vec<AtomicU64>,
    /// connect, timeout, io
    failures: [AtomicU64; 3],
    pub hist: Hist,
    error_samples: Mutex<Vec<String>>,
    /// By the service the drift is attributed to.
    pub drift_by: Vec<AtomicU64>,
    drift_samples: Mutex<Vec<Vec<String>>>,
}

impl StepMetrics {
    pub fn new(services: usize) -> StepMetrics {
        StepMetrics {
            count: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            drift: AtomicU64::new(0),
            status: (0..600).map(|_| AtomicU64::new(0)).collect(),
            failures: Default::default(),
            hist: Hist::default(),
            error_samples: Mutex::new(Vec::new()),
            drift_by: (0..services).map(|_| AtomicU64::new(0)).collect(),
            drift_samples: Mutex::new(vec![Vec::new(); services]),
        }
    }

    pub fn status(&self, code: u16) {
        if let Some(c) = self.status.get(code as usize) {
            c.fetch_add(1, Relaxed);
        }
    }

    pub fn failure(&self, f: crate::client::Failure) {
        self.failures[f as usize].fetch_add(1, Relaxed);
    }

    pub fn error_sample(&self, s: impl FnOnce() -> String) {
        let mut v = self.error_samples.lock().unwrap_or_else(|p| p.into_inner());
        if v.len() < SAMPLES {
            v.push(s());
        }
    }

    pub fn drift_sample(&self, service: usize, s: impl FnOnce() -> String) {
        self.drift_by[service].fetch_add(1, Relaxed);
        let mut v = self.drift_samples.lock().unwrap_or_else(|p| p.into_inner());
        if v[service].len() < SAMPLES {
            v[service].push(s());
        }
    }

    pub fn statuses(&self) -> std::collections::BTreeMap<String, u64> {
        let mut m = std::collections::BTreeMap::new();
        for (code, c) in self.status.iter().enumerate() {
            let n = c.load(Relaxed);
            if n > 0 {
                m.insert(code.to_string(), n);
            }
        }
        for f in [
            crate::client::Failure::Connect,
            crate::client::Failure::Timeout,
            crate::client::Failure::Io,
        ] {
            let n = self.failures[f as usize].load(Relaxed);
            if n > 0 {
                m.insert(f.as_str().to_string(), n);
            }
        }
        m
    }

    pub fn errors_samples(&self) -> Vec<String> {
        self.error_samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn drift_samples(&self, service: usize) -> Vec<String> {
        self.drift_samples.lock().unwrap_or_else(|p| p.into_inner())[service].clone()
    }
}

/// The whole run's counters.
pub struct Metrics {
    pub steps: Vec<StepMetrics>,
    pub iteration: Hist,
    pub started: AtomicU64,
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub drifted: AtomicU64,
}

impl Metrics {
    pub fn new(steps: usize, services: usize) -> Metrics {
        Metrics {
            steps: (0..steps).map(|_| StepMetrics::new(services)).collect(),
            iteration: Hist::default(),
            started: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            drifted: AtomicU64::new(0),
        }
    }

    pub fn ended(&self) -> u64 {
        self.completed.load(Relaxed) + self.failed.load(Relaxed) + self.drifted.load(Relaxed)
    }
}
