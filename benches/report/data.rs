//! The results of one `scripts/bench.sh` run, read back from its folder.

use benches::quantile;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// (section, shape, threads, implementation)
pub type Key = (String, String, usize, String);

pub struct Data {
    pub samples: BTreeMap<Key, Vec<f64>>,
    /// (Go benchmark shape, -cpu) -> ns/op of each run.
    pub go: BTreeMap<(String, usize), Vec<f64>>,
    pub go_size: Option<String>,
    pub memory: Vec<Vec<String>>,
    pub machine: Vec<(String, String)>,
    /// (shape, implementation) -> instructions per operation.
    pub callgrind: Vec<(String, String, f64)>,
}

impl Data {
    pub fn load(dir: &Path) -> Data {
        let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap_or_default();
        let mut samples: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
        for line in read("compare.tsv").lines() {
            let f: Vec<&str> = line.split('\t').collect();
            if let [section, shape, threads, imp, ns] = f[..] {
                if let (Ok(t), Ok(v)) = (threads.parse(), ns.parse()) {
                    samples
                        .entry((section.into(), shape.into(), t, imp.into()))
                        .or_default()
                        .push(v);
                }
            }
        }
        let mut go: BTreeMap<(String, usize), Vec<f64>> = BTreeMap::new();
        for line in read("go.txt").lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let Some(name) = f.first().and_then(|n| n.strip_prefix("BenchmarkWaitGroup")) else {
                continue;
            };
            let (shape, cpu) = match name.rsplit_once('-') {
                Some((s, c)) if c.parse::<usize>().is_ok() => (s, c.parse().unwrap_or(1)),
                _ => (name, 1),
            };
            if let Some(i) = f.iter().position(|w| *w == "ns/op") {
                if let Some(v) = i.checked_sub(1).and_then(|j| f[j].parse::<f64>().ok()) {
                    go.entry((shape.into(), cpu)).or_default().push(v);
                }
            }
        }
        let memory = read("memory.tsv")
            .lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect();
        let machine = read("machine.txt")
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let callgrind = read("callgrind.tsv")
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                match f[..] {
                    [shape, imp, v] => Some((shape.into(), imp.into(), v.parse().ok()?)),
                    _ => None,
                }
            })
            .collect();
        let go_size = Some(read("go-size.txt").trim().to_owned()).filter(|s| !s.is_empty());
        Data {
            samples,
            go,
            go_size,
            memory,
            machine,
            callgrind,
        }
    }

    pub fn get(&self, section: &str, shape: &str, threads: usize, imp: &str) -> Option<&[f64]> {
        self.samples
            .get(&(section.into(), shape.into(), threads, imp.into()))
            .map(Vec::as_slice)
    }

    pub fn median(&self, section: &str, shape: &str, threads: usize, imp: &str) -> Option<f64> {
        self.get(section, shape, threads, imp)
            .map(|s| quantile(s, 0.5))
    }

    /// Go's ns/op for one of our shapes (both ActuallyWait rows compare with Go's one).
    pub fn go_median(&self, shape: &str, threads: usize) -> Option<f64> {
        let go_name = shape.split(' ').next().unwrap_or(shape);
        self.go
            .get(&(go_name.into(), threads))
            .map(|s| quantile(s, 0.5))
    }

    pub fn machine(&self, key: &str) -> &str {
        self.machine
            .iter()
            .find(|(k, _)| k == key)
            .map_or("?", |(_, v)| v.as_str())
    }

    pub fn count(&self, section: &str, shape: &str, threads: usize, imp: &str) -> usize {
        self.get(section, shape, threads, imp)
            .map_or(0, <[f64]>::len)
    }
}

pub const SHAPES: [&str; 7] = [
    "Uncontended",
    "AddDone",
    "AddDoneWork",
    "Wait",
    "WaitWork",
    "ActuallyWait (fresh thread)",
    "ActuallyWait (hand-off)",
];
