//! The small weighted regressions of LIME and KernelSHAP, in `f64` (a few hundred features at
//! most, so normal equations solved by elimination are exact enough and need no LAPACK).

/// Solves `A x = b` for a square `A` (row-major, `n x n`) by Gaussian elimination with partial
/// pivoting; `None` when `A` is singular to working precision.
pub fn solve(mut a: Vec<f64>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    let scale = (0..n)
        .map(|i| a[i * n + i].abs())
        .fold(0.0, f64::max)
        .max(1e-300);
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&r, &s| a[r * n + col].abs().total_cmp(&a[s * n + col].abs()))?;
        if a[pivot * n + col].abs() <= 1e-12 * scale {
            return None;
        }
        if pivot != col {
            for k in 0..n {
                a.swap(pivot * n + k, col * n + k);
            }
            b.swap(pivot, col);
        }
        for row in col + 1..n {
            let factor = a[row * n + col] / a[col * n + col];
            if factor != 0.0 {
                for k in col..n {
                    a[row * n + k] -= factor * a[col * n + k];
                }
                b[row] -= factor * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let rest: f64 = (row + 1..n).map(|k| a[row * n + k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row * n + row];
    }
    Some(x)
}

/// Minimises `Σ wᵢ (yᵢ - c - xᵢ·β)² + alpha |β|²` (with `c` fitted when `intercept`), as
/// scikit-learn's `Ridge(alpha, fit_intercept)` with `sample_weight` does: columns and targets
/// centred on their weighted means, the intercept unpenalised. Returns `(β, c)`.
pub fn weighted_ridge(
    rows: &[Vec<f64>],
    y: &[f64],
    w: &[f64],
    alpha: f64,
    intercept: bool,
) -> Option<(Vec<f64>, f64)> {
    let d = rows.first().map_or(0, Vec::len);
    let total: f64 = w.iter().sum();
    let (x_mean, y_mean) = if intercept && total > 0.0 {
        let mut x_mean = vec![0.0; d];
        for (row, wi) in rows.iter().zip(w) {
            for (m, v) in x_mean.iter_mut().zip(row) {
                *m += wi * v / total;
            }
        }
        let y_mean = y.iter().zip(w).map(|(y, w)| w * y).sum::<f64>() / total;
        (x_mean, y_mean)
    } else {
        (vec![0.0; d], 0.0)
    };
    let mut gram = vec![0.0; d * d];
    let mut rhs = vec![0.0; d];
    let mut centred = vec![0.0; d];
    for ((row, yi), wi) in rows.iter().zip(y).zip(w) {
        for (c, (v, m)) in centred.iter_mut().zip(row.iter().zip(&x_mean)) {
            *c = v - m;
        }
        let yc = yi - y_mean;
        for i in 0..d {
            let wx = wi * centred[i];
            if wx == 0.0 {
                continue;
            }
            rhs[i] += wx * yc;
            for j in 0..d {
                gram[i * d + j] += wx * centred[j];
            }
        }
    }
    for i in 0..d {
        gram[i * d + i] += alpha;
    }
    let beta = solve(gram, rhs)?;
    let c = y_mean - x_mean.iter().zip(&beta).map(|(m, b)| m * b).sum::<f64>();
    Some((beta, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_system_needing_a_pivot_and_rejects_a_singular_one() {
        let x = solve(vec![0.0, 2.0, 3.0, 1.0], vec![4.0, 5.0]).unwrap();
        assert!(
            (x[0] - 1.0).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12,
            "{x:?}"
        );
        assert!(solve(vec![1.0, 2.0, 2.0, 4.0], vec![1.0, 2.0]).is_none());
    }

    #[test]
    fn recovers_an_exact_linear_model_and_shrinks_with_alpha() {
        let rows: Vec<Vec<f64>> = (0..20)
            .map(|i| vec![(i % 3) as f64, (i % 5) as f64 * 0.5])
            .collect();
        let y: Vec<f64> = rows.iter().map(|r| 1.5 + 2.0 * r[0] - r[1]).collect();
        let w: Vec<f64> = (0..20).map(|i| 1.0 + i as f64 / 10.0).collect();
        let (beta, c) = weighted_ridge(&rows, &y, &w, 0.0, true).unwrap();
        assert!(
            (beta[0] - 2.0).abs() < 1e-10
                && (beta[1] + 1.0).abs() < 1e-10
                && (c - 1.5).abs() < 1e-10
        );
        let (ridge, _) = weighted_ridge(&rows, &y, &w, 10.0, true).unwrap();
        assert!(ridge[0].abs() < 2.0 && ridge[0] > 0.0);
    }

    #[test]
    fn matches_the_closed_form_of_scikit_learns_weighted_ridge() {
        // Ridge(alpha=1.0).fit(X, y, sample_weight=w): centre on the weighted means, solve
        // (XcᵀWXc + I)β = XcᵀWyc by Cramer's rule, intercept ȳ - x̄·β.
        let rows = vec![
            vec![1.0, 0.0],
            vec![0.0, 1.0],
            vec![1.0, 1.0],
            vec![0.0, 0.0],
        ];
        let y = [1.5, 0.5, 1.0, 1.0];
        let w = [1.0, 2.0, 1.0, 3.0];
        let (beta, c) = weighted_ridge(&rows, &y, &w, 1.0, true).unwrap();
        // The same fit by the normal equations of the centred, weighted problem.
        let total: f64 = w.iter().sum();
        let xm = [2.0 / total, 3.0 / total];
        let ym = (1.5 + 1.0 + 1.0 + 3.0) / total;
        let mut g = [[1.0, 0.0], [0.0, 1.0]];
        let mut r = [0.0, 0.0];
        for ((row, yi), wi) in rows.iter().zip(y).zip(w) {
            let xc = [row[0] - xm[0], row[1] - xm[1]];
            for i in 0..2 {
                r[i] += wi * xc[i] * (yi - ym);
                for j in 0..2 {
                    g[i][j] += wi * xc[i] * xc[j];
                }
            }
        }
        let det = g[0][0] * g[1][1] - g[0][1] * g[1][0];
        let b0 = (r[0] * g[1][1] - g[0][1] * r[1]) / det;
        let b1 = (g[0][0] * r[1] - g[1][0] * r[0]) / det;
        assert!((beta[0] - b0).abs() < 1e-12 && (beta[1] - b1).abs() < 1e-12);
        assert!((c - (ym - xm[0] * b0 - xm[1] * b1)).abs() < 1e-12);
    }
}
