//! How numbers are written in the report.

/// ns with about three significant digits, thousands grouped; `n/a` for none.
pub fn ns(v: Option<f64>) -> String {
    match v {
        None => "n/a".into(),
        Some(v) if v < 10.0 => format!("{v:.2}"),
        Some(v) if v < 100.0 => format!("{v:.1}"),
        Some(v) => group_digits(v.round() as u64),
    }
}

/// ns written as µs, about three significant digits; `n/a` for none.
pub fn us(v: Option<f64>) -> String {
    match v {
        None => "n/a".into(),
        Some(v) if v < 10_000.0 => format!("{:.2}", v / 1e3),
        Some(v) if v < 100_000.0 => format!("{:.1}", v / 1e3),
        Some(v) => group_digits((v / 1e3).round() as u64),
    }
}

/// `12345` as `12,345`.
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `a / b` as `1.23x`; `n/a` when either is missing.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "n/a".into(),
    }
}

/// A time for the chart and the lead: ns below 1 µs, µs below 1 ms, then ms.
pub fn time(v: f64) -> String {
    if v < 1e3 {
        format!("{} ns", ns(Some(v)))
    } else if v < 1e6 {
        format!("{} µs", three_digits(v / 1e3))
    } else {
        format!("{} ms", three_digits(v / 1e6))
    }
}

/// About three significant digits.
fn three_digits(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}
