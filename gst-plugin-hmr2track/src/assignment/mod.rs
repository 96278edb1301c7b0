//! Optimal assignment (the linear sum assignment problem) of rows to columns.
//!
//! The solver is the shortest-augmenting-path form of the Hungarian method with dual
//! potentials (as in Jonker and Volgenant's algorithm): one Dijkstra-like search per row,
//! O(n² m) for n rows and m ≥ n columns, exact for any real costs.
//!
//! Non-finite costs mark forbidden pairs (a gate). They are replaced by a cost larger than
//! any sum of allowed ones, so the solution first uses as few forbidden pairs as it can —
//! i.e. it matches as many allowed pairs as possible — and then has the least total cost;
//! forbidden pairs are then left out of the answer.

/// Why a cost matrix cannot be solved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssignmentError {
    #[error("a {rows} x {cols} cost matrix has {expected} entries, got {found}")]
    WrongSize { rows: usize, cols: usize, expected: usize, found: usize },
}

/// For each row, the column it is assigned to (`None`: unassigned), minimising the total
/// cost over the allowed (finite) pairs. `costs` is row-major, `rows × cols`.
pub fn assign(rows: usize, cols: usize, costs: &[f64]) -> Result<Vec<Option<usize>>, AssignmentError> {
    let expected = rows * cols;
    if costs.len() != expected {
        return Err(AssignmentError::WrongSize { rows, cols, expected, found: costs.len() });
    }
    if rows == 0 || cols == 0 {
        return Ok(vec![None; rows]);
    }
    let finite = costs.iter().copied().filter(|c| c.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| (lo.min(c), hi.max(c)));
    if lo > hi {
        // Everything is forbidden.
        return Ok(vec![None; rows]);
    }
    let pairs = rows.min(cols) as f64;
    let forbidden = hi + (hi - lo + 1.0) * (pairs + 1.0);
    let cost = |r: usize, c: usize| {
        let v = costs[r * cols + c];
        if v.is_finite() {
            v
        } else {
            forbidden
        }
    };

    // The solver wants no more rows than columns: solve the transpose otherwise.
    let by_column = if rows <= cols {
        shortest_augmenting_paths(rows, cols, cost)
    } else {
        let transposed = shortest_augmenting_paths(cols, rows, |c, r| cost(r, c));
        let mut by_row = vec![None; rows];
        for (c, r) in transposed.iter().enumerate() {
            if let Some(r) = *r {
                by_row[r] = Some(c);
            }
        }
        by_row
    };
    Ok(by_column.into_iter().enumerate().map(|(r, c)| c.filter(|&c| costs[r * cols + c].is_finite())).collect())
}

/// Minimum-cost assignment of every one of `n` rows to distinct columns among `m ≥ n`.
fn shortest_augmenting_paths(n: usize, m: usize, cost: impl Fn(usize, usize) -> f64) -> Vec<Option<usize>> {
    // Index 0 is a virtual column (and row) that starts each search; rows and columns are
    // numbered from 1 in `row_of`, `u`, `v` and `way`.
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; m + 1];
    let mut row_of = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    let mut min_slack = vec![0.0f64; m + 1];
    let mut used = vec![false; m + 1];
    for row in 1..=n {
        row_of[0] = row;
        let mut j0 = 0;
        min_slack.fill(f64::INFINITY);
        used.fill(false);
        loop {
            used[j0] = true;
            let i0 = row_of[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=m {
                if used[j] {
                    continue;
                }
                let slack = cost(i0 - 1, j - 1) - u[i0] - v[j];
                if slack < min_slack[j] {
                    min_slack[j] = slack;
                    way[j] = j0;
                }
                if min_slack[j] < delta {
                    delta = min_slack[j];
                    j1 = j;
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[row_of[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_slack[j] -= delta;
                }
            }
            j0 = j1;
            if row_of[j0] == 0 {
                break;
            }
        }
        // Flip the augmenting path.
        while j0 != 0 {
            let j1 = way[j0];
            row_of[j0] = row_of[j1];
            j0 = j1;
        }
    }
    let mut by_row = vec![None; n];
    for j in 1..=m {
        if row_of[j] != 0 {
            by_row[row_of[j] - 1] = Some(j - 1);
        }
    }
    by_row
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Best (most pairs, then least cost) assignment by trying every one.
    fn brute_force(rows: usize, cols: usize, costs: &[f64]) -> (usize, f64) {
        fn go(
            r: usize,
            rows: usize,
            cols: usize,
            costs: &[f64],
            taken: &mut Vec<bool>,
            acc: (usize, f64),
            best: &mut (usize, f64),
        ) {
            if r == rows {
                if acc.0 > best.0 || (acc.0 == best.0 && acc.1 < best.1 - 1e-9) {
                    *best = acc;
                }
                return;
            }
            go(r + 1, rows, cols, costs, taken, acc, best);
            for c in 0..cols {
                let v = costs[r * cols + c];
                if !taken[c] && v.is_finite() {
                    taken[c] = true;
                    go(r + 1, rows, cols, costs, taken, (acc.0 + 1, acc.1 + v), best);
                    taken[c] = false;
                }
            }
        }
        let mut best = (0, 0.0);
        go(0, rows, cols, costs, &mut vec![false; cols], (0, 0.0), &mut best);
        best
    }

    fn score(rows: usize, cols: usize, costs: &[f64], a: &[Option<usize>]) -> (usize, f64) {
        let mut seen = vec![false; cols];
        let mut total = (0, 0.0);
        for (r, c) in a.iter().enumerate() {
            if let Some(c) = *c {
                assert!(!seen[c], "column {c} used twice");
                seen[c] = true;
                assert!(costs[r * cols + c].is_finite());
                total = (total.0 + 1, total.1 + costs[r * cols + c]);
            }
        }
        assert_eq!(a.len(), rows);
        total
    }

    #[test]
    fn known_example() {
        // The textbook 3 × 3: the optimum 5 = 1 + 2 + 2 is not the greedy choice.
        let costs = [4.0, 1.0, 3.0, 2.0, 0.0, 5.0, 3.0, 2.0, 2.0];
        assert_eq!(assign(3, 3, &costs).unwrap(), vec![Some(1), Some(0), Some(2)]);
    }

    #[test]
    fn greedy_would_be_wrong() {
        // Greedy takes (0, 0) at 0.1 and then must pay 10 for (1, 1).
        let costs = [0.1, 0.2, 0.3, 10.0];
        assert_eq!(assign(2, 2, &costs).unwrap(), vec![Some(1), Some(0)]);
    }

    #[test]
    fn matches_brute_force_on_random_matrices() {
        let mut state = 0x1234_5678_u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..400 {
            let rows = 1 + (next() * 5.0) as usize;
            let cols = 1 + (next() * 5.0) as usize;
            let costs: Vec<f64> =
                (0..rows * cols).map(|_| if next() < 0.3 { f64::INFINITY } else { next() * 4.0 - 1.0 }).collect();
            let a = assign(rows, cols, &costs).unwrap();
            let got = score(rows, cols, &costs, &a);
            let best = brute_force(rows, cols, &costs);
            assert_eq!(got.0, best.0, "pairs for {costs:?}");
            assert!((got.1 - best.1).abs() < 1e-9, "cost {} vs {} for {costs:?}", got.1, best.1);
        }
    }

    #[test]
    fn forbidden_pairs_are_never_returned() {
        let inf = f64::INFINITY;
        assert_eq!(assign(2, 2, &[inf, inf, inf, inf]).unwrap(), vec![None, None]);
        assert_eq!(assign(2, 3, &[f64::NAN, 1.0, inf, inf, inf, inf]).unwrap(), vec![Some(1), None]);
        assert_eq!(assign(0, 3, &[]).unwrap(), Vec::<Option<usize>>::new());
        assert_eq!(assign(2, 0, &[]).unwrap(), vec![None, None]);
    }

    #[test]
    fn wrong_size_is_an_error() {
        assert_eq!(
            assign(2, 2, &[1.0; 3]),
            Err(AssignmentError::WrongSize { rows: 2, cols: 2, expected: 4, found: 3 })
        );
    }
}
