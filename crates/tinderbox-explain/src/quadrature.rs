//! Points and weights on `[0, 1]` for integrated gradients' path integral, as Captum's
//! `approximation_methods` gives them.

use serde::{Deserialize, Serialize};

/// A quadrature rule for `∫₀¹ g(α) dα ≈ Σ wᵢ g(αᵢ)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Gauss-Legendre nodes mapped to `[0, 1]` (Captum's default, `gausslegendre`): exact for
    /// polynomials of degree `2n - 1`.
    GaussLegendre,
    /// The trapezoid rule on `n` evenly spaced points including both ends
    /// (`riemann_trapezoid`).
    RiemannTrapezoid,
    /// Midpoints of `n` equal intervals (`riemann_middle`).
    RiemannMiddle,
}

impl Rule {
    /// `n` points `α` in `[0, 1]` and their weights (which sum to 1).
    pub fn points(self, n: usize) -> Vec<(f64, f64)> {
        match self {
            Rule::GaussLegendre => gauss_legendre(n)
                .into_iter()
                .map(|(x, w)| (0.5 * (x + 1.0), 0.5 * w))
                .collect(),
            Rule::RiemannTrapezoid if n == 1 => vec![(0.5, 1.0)],
            Rule::RiemannTrapezoid => (0..n)
                .map(|i| {
                    let step = 1.0 / (n - 1) as f64;
                    let end = i == 0 || i == n - 1;
                    (i as f64 * step, if end { 0.5 * step } else { step })
                })
                .collect(),
            Rule::RiemannMiddle => (0..n)
                .map(|i| ((i as f64 + 0.5) / n as f64, 1.0 / n as f64))
                .collect(),
        }
    }
}

/// Nodes and weights of the `n`-point Gauss-Legendre rule on `[-1, 1]` (Newton's method on
/// the Legendre polynomial from Chebyshev starting points, as Numerical Recipes' `gauleg`),
/// ascending like NumPy's `leggauss`.
fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    let mut out = vec![(0.0, 0.0); n];
    for i in 0..n.div_ceil(2) {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut derivative = 0.0;
        for _ in 0..100 {
            // p1 = P_n(x) by the three-term recurrence, p2 = P_{n-1}(x).
            let (mut p1, mut p2) = (1.0, 0.0);
            for j in 0..n {
                let p3 = p2;
                p2 = p1;
                p1 = ((2 * j + 1) as f64 * x * p2 - j as f64 * p3) / (j + 1) as f64;
            }
            derivative = n as f64 * (x * p1 - p2) / (x * x - 1.0);
            let dx = p1 / derivative;
            x -= dx;
            if dx.abs() < 1e-15 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - x * x) * derivative * derivative);
        out[i] = (-x, w);
        out[n - 1 - i] = (x, w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_matches_numpy_leggauss() {
        // numpy.polynomial.legendre.leggauss(3) and (5).
        let three = gauss_legendre(3);
        let s = (0.6f64).sqrt();
        for ((x, w), (ex, ew)) in
            three
                .iter()
                .zip([(-s, 5.0 / 9.0), (0.0, 8.0 / 9.0), (s, 5.0 / 9.0)])
        {
            assert!((x - ex).abs() < 1e-14 && (w - ew).abs() < 1e-14, "{x} {w}");
        }
        let five = gauss_legendre(5);
        assert!((five[0].0 + 0.906_179_845_938_664).abs() < 1e-14);
        assert!((five[0].1 - 0.236_926_885_056_189_1).abs() < 1e-14);
    }

    #[test]
    fn every_rule_integrates_low_degree_polynomials_on_the_unit_interval() {
        for rule in [
            Rule::GaussLegendre,
            Rule::RiemannTrapezoid,
            Rule::RiemannMiddle,
        ] {
            for n in [1, 2, 7, 50] {
                let p = rule.points(n);
                assert_eq!(p.len(), n);
                let total: f64 = p.iter().map(|(_, w)| w).sum();
                assert!((total - 1.0).abs() < 1e-12, "{rule:?} {n}: {total}");
                assert!(p.iter().all(|(a, _)| (0.0..=1.0).contains(a)));
                // Linear functions are integrated exactly by all three rules.
                let linear: f64 = p.iter().map(|(a, w)| w * (3.0 * a + 1.0)).sum();
                assert!((linear - 2.5).abs() < 1e-12, "{rule:?} {n}: {linear}");
            }
        }
        // Gauss-Legendre with 50 points is exact for x^9.
        let p = Rule::GaussLegendre.points(50);
        let ninth: f64 = p.iter().map(|(a, w)| w * a.powi(9)).sum();
        assert!((ninth - 0.1).abs() < 1e-13);
    }
}
