//! Sparse stencil matrices and the batched kernels that apply them.
//!
//! Every operator of this crate is linear in `f`: `df/dt = C f` with `C` an
//! `n x n` sparse matrix (`n` = number of velocity cells) whose entries are
//! linear in the operator's parameters. [`LinearAssembly`] stores that linear
//! map once (`values = P theta`), [`Pattern`] the sparsity of `C`.
//!
//! Batches of distributions are stored cell-major with the batch index
//! fastest (`f[cell * bc + b]`), so that one matrix entry multiplies a
//! contiguous run of `bc` values: the inner loops are SIMD axpys and dot
//! products whatever the stencil.

/// Sparsity pattern of an `n x n` matrix in compressed-row form. Every row
/// holds its diagonal entry (possibly zero), so that `I + dt C` has the same
/// pattern as `C`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    n: usize,
    row_ptr: Vec<usize>,
    cols: Vec<u32>,
    diag: Vec<usize>,
    /// The transpose: entries of column `c` are `col_ptr[c]..col_ptr[c + 1]`
    /// in `col_rows` (their row) and `col_entry` (their index).
    col_ptr: Vec<usize>,
    col_rows: Vec<u32>,
    col_entry: Vec<u32>,
    /// Largest `r - c` over the stored entries: column `c` is complete once
    /// rows up to `c + band` are known.
    band: usize,
}

impl Pattern {
    /// Number of rows (and columns).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// Entry range of row `r`.
    #[inline]
    pub fn row(&self, r: usize) -> std::ops::Range<usize> {
        self.row_ptr[r]..self.row_ptr[r + 1]
    }

    /// Column of entry `k`.
    #[inline]
    pub fn col(&self, k: usize) -> usize {
        self.cols[k] as usize
    }

    /// Entry index of the diagonal of row `r`.
    #[inline]
    pub fn diag(&self, r: usize) -> usize {
        self.diag[r]
    }

    /// `(row, entry)` of the stored entries of column `c`.
    #[inline]
    pub fn col_entries(&self, c: usize) -> impl Iterator<Item = (usize, usize)> + Clone + '_ {
        let range = self.col_ptr[c]..self.col_ptr[c + 1];
        self.col_rows[range.clone()]
            .iter()
            .zip(&self.col_entry[range])
            .map(|(&r, &k)| (r as usize, k as usize))
    }

    /// Entry index of `(r, c)`, if stored.
    pub fn find(&self, r: usize, c: usize) -> Option<usize> {
        let range = self.row(r);
        let start = range.start;
        self.cols[range].binary_search(&(c as u32)).ok().map(|k| start + k)
    }

    /// Dense copy of a matrix with this pattern (tests and small grids only).
    pub fn to_dense(&self, values: &[f64]) -> Vec<Vec<f64>> {
        let mut m = vec![vec![0.0; self.n]; self.n];
        for (r, row) in m.iter_mut().enumerate() {
            for k in self.row(r) {
                row[self.col(k)] += values[k];
            }
        }
        m
    }
}

/// One term of a linear assembly: `values[entry] += weight * theta[param]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Term {
    /// Index of the matrix entry.
    pub entry: u32,
    /// Index of the parameter.
    pub param: u32,
    /// Weight.
    pub weight: f64,
}

/// A matrix whose entries are linear in a parameter vector:
/// `C[r, c] = sum_t w_t theta[p_t]` over the terms of entry `(r, c)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearAssembly {
    pattern: Pattern,
    terms: Vec<Term>,
    nparams: usize,
}

impl LinearAssembly {
    /// Build from `(row, col, param, weight)` contributions; contributions to
    /// the same `(row, col, param)` are summed and exact zeros dropped.
    pub fn build(
        n: usize,
        nparams: usize,
        contributions: impl IntoIterator<Item = (usize, usize, usize, f64)>,
    ) -> Self {
        let mut quads: Vec<(u32, u32, u32, f64)> = contributions
            .into_iter()
            .map(|(r, c, p, w)| {
                debug_assert!(r < n && c < n && p < nparams, "term ({r}, {c}, {p}) out of range");
                (r as u32, c as u32, p as u32, w)
            })
            .collect();
        // The diagonal is always stored.
        quads.extend((0..n as u32).map(|r| (r, r, u32::MAX, 0.0)));
        quads.sort_by_key(|q| (q.0, q.1, q.2));

        let mut row_ptr = vec![0usize; n + 1];
        let mut cols: Vec<u32> = Vec::new();
        let mut terms: Vec<Term> = Vec::new();
        let mut last: Option<(u32, u32)> = None;
        let mut last_term: Option<(u32, u32)> = None;
        for (r, c, p, w) in quads {
            if last != Some((r, c)) {
                cols.push(c);
                row_ptr[r as usize + 1] = cols.len();
                last = Some((r, c));
                last_term = None;
            }
            if p == u32::MAX || w == 0.0 {
                continue;
            }
            let entry = (cols.len() - 1) as u32;
            if last_term == Some((entry, p)) {
                terms.last_mut().expect("a term was pushed").weight += w;
            } else {
                terms.push(Term { entry, param: p, weight: w });
                last_term = Some((entry, p));
            }
        }
        for r in 0..n {
            row_ptr[r + 1] = row_ptr[r + 1].max(row_ptr[r]);
        }
        terms.retain(|t| t.weight != 0.0);
        let diag = (0..n)
            .map(|r| {
                let range = row_ptr[r]..row_ptr[r + 1];
                let start = range.start;
                start + cols[range].binary_search(&(r as u32)).expect("diagonal stored")
            })
            .collect();
        let mut col_ptr = vec![0usize; n + 1];
        for &c in &cols {
            col_ptr[c as usize + 1] += 1;
        }
        for c in 0..n {
            col_ptr[c + 1] += col_ptr[c];
        }
        let mut fill = col_ptr.clone();
        let mut col_rows = vec![0u32; cols.len()];
        let mut col_entry = vec![0u32; cols.len()];
        let mut band = 0usize;
        for r in 0..n {
            for (k, &c) in cols.iter().enumerate().take(row_ptr[r + 1]).skip(row_ptr[r]) {
                let c = c as usize;
                col_rows[fill[c]] = r as u32;
                col_entry[fill[c]] = k as u32;
                fill[c] += 1;
                band = band.max(r.saturating_sub(c));
            }
        }
        Self {
            pattern: Pattern { n, row_ptr, cols, diag, col_ptr, col_rows, col_entry, band },
            terms,
            nparams,
        }
    }

    /// The sparsity pattern.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// The terms, sorted by entry.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Number of parameters the assembly reads.
    pub fn nparams(&self) -> usize {
        self.nparams
    }

    /// `values = P map(theta)`, where `map(p, theta[p])` may transform
    /// individual parameters (e.g. a clamp); `values` is overwritten.
    #[inline]
    pub fn assemble_mapped(&self, theta: &[f64], values: &mut [f64], map: impl Fn(usize, f64) -> f64) {
        values.fill(0.0);
        for t in &self.terms {
            let p = t.param as usize;
            values[t.entry as usize] += t.weight * map(p, theta[p]);
        }
    }

    /// `values = P theta`.
    pub fn assemble(&self, theta: &[f64], values: &mut [f64]) {
        self.assemble_mapped(theta, values, |_, v| v);
    }

    /// `dtheta += P^T dvalues`, scaled per parameter by `scale(p)` (the
    /// derivative of the map used in [`LinearAssembly::assemble_mapped`]).
    #[inline]
    pub fn vjp_mapped(&self, dvalues: &[f64], dtheta: &mut [f64], scale: impl Fn(usize) -> f64) {
        for t in &self.terms {
            let p = t.param as usize;
            dtheta[p] += t.weight * dvalues[t.entry as usize] * scale(p);
        }
    }

    /// `dtheta += P^T dvalues`.
    pub fn vjp(&self, dvalues: &[f64], dtheta: &mut [f64]) {
        self.vjp_mapped(dvalues, dtheta, |_| 1.0);
    }
}

/// Width of the register tiles of the matrix products: 16 doubles are four
/// AVX2 registers, so a tile's accumulator never leaves the registers while
/// the row's entries stream past.
const TILE: usize = 16;

#[inline(always)]
fn clamp_value(v: f64) -> f64 {
    // Keeps NaN (a blow-up must stay visible), unlike f64::max.
    if v < 0.0 { 0.0 } else { v }
}

#[inline(always)]
fn fma<const FMA: bool>(x: f64, w: f64, acc: f64) -> f64 {
    if FMA { x.mul_add(w, acc) } else { acc + w * x }
}

/// `sum_k w_k x_k[b..b+T]` over `entries` = (weight, source row), in registers.
#[inline(always)]
fn tile_sum<const FMA: bool, const T: usize>(
    entries: impl Iterator<Item = (f64, usize)>,
    x: &[f64],
    bc: usize,
    b: usize,
) -> [f64; T] {
    let mut acc = [0.0f64; T];
    for (w, c) in entries {
        let start = c * bc + b;
        let src: &[f64; T] = x[start..start + T].try_into().expect("tile in bounds");
        for l in 0..T {
            acc[l] = fma::<FMA>(src[l], w, acc[l]);
        }
    }
    acc
}

/// Where the tiles of one output row go: the row itself (clamped if asked)
/// and, optionally, a record of the unclamped values.
struct RowOut<'a> {
    out: Option<&'a mut [f64]>,
    pre_clamp: Option<&'a mut [f64]>,
    clamp: bool,
}

impl RowOut<'_> {
    #[inline(always)]
    fn store<const T: usize>(&mut self, b: usize, mut acc: [f64; T]) {
        if let Some(g) = self.pre_clamp.as_deref_mut() {
            g[b..b + T].copy_from_slice(&acc);
        }
        if let Some(out) = self.out.as_deref_mut() {
            if self.clamp {
                // In registers: a compare and blend, not a masked store.
                for v in acc.iter_mut() {
                    *v = clamp_value(*v);
                }
            }
            out[b..b + T].copy_from_slice(&acc);
        }
    }
}

/// `out[r] = sum over entries(r) of w x[src]` for one row, tiled over the batch.
#[inline(always)]
fn row_sum<const FMA: bool, I: Iterator<Item = (f64, usize)> + Clone>(
    entries: I,
    x: &[f64],
    bc: usize,
    mut out: RowOut<'_>,
) {
    let mut b = 0;
    while b + TILE <= bc {
        out.store(b, tile_sum::<FMA, TILE>(entries.clone(), x, bc, b));
        b += TILE;
    }
    while b + 4 <= bc {
        out.store(b, tile_sum::<FMA, 4>(entries.clone(), x, bc, b));
        b += 4;
    }
    while b < bc {
        out.store(b, tile_sum::<FMA, 1>(entries.clone(), x, bc, b));
        b += 1;
    }
}

/// Arguments of one forward step on a chunk of `bc` distributions.
pub(crate) struct ForwardArgs<'a> {
    pub pattern: &'a Pattern,
    /// Entries of `M = I + dt C`.
    pub m: &'a [f64],
    /// Input state, `n * bc`.
    pub f: &'a [f64],
    /// Output state `max(M f, 0)` (or `M f` without clamp), `n * bc`; may be
    /// omitted when only the pre-clamp record is wanted.
    pub out: Option<&'a mut [f64]>,
    /// If given, receives the pre-clamp values `M f`.
    pub pre_clamp: Option<&'a mut [f64]>,
    /// Width of the chunk.
    pub bc: usize,
    /// Apply `f <- max(f, 0)`.
    pub clamp: bool,
}

#[inline(always)]
fn forward_impl<const FMA: bool>(a: ForwardArgs<'_>) {
    let ForwardArgs { pattern, m, f, mut out, mut pre_clamp, bc, clamp } = a;
    for r in 0..pattern.n() {
        let entries = pattern.row(r).map(|k| (m[k], pattern.col(k)));
        let row_out = RowOut {
            out: out.as_deref_mut().map(|o| &mut o[r * bc..(r + 1) * bc]),
            pre_clamp: pre_clamp.as_deref_mut().map(|g| &mut g[r * bc..(r + 1) * bc]),
            clamp,
        };
        row_sum::<FMA, _>(entries, f, bc, row_out);
    }
}

/// Arguments of one reverse (adjoint) step on a chunk.
pub(crate) struct BackwardArgs<'a> {
    pub pattern: &'a Pattern,
    /// Entries of `M = I + dt C`.
    pub m: &'a [f64],
    /// Input state of the forward step, `n * bc` (clamped on read if `clamp_input`).
    pub f: &'a [f64],
    pub clamp_input: bool,
    /// Pre-clamp output of the forward step (for the clamp's mask), if the clamp was on.
    pub pre_clamp: Option<&'a [f64]>,
    /// Adjoint of the step's output.
    pub lambda_out: &'a [f64],
    /// Receives the adjoint of the step's input `M^T (mask * lambda_out)`
    /// (overwritten); omitted when nobody needs it (the first step, unless
    /// the gradient with respect to the initial state is asked for).
    pub lambda_in: Option<&'a mut [f64]>,
    /// Accumulates `d loss / d M_k = sum_b mu[r, b] f[c, b]`.
    pub dm: &'a mut [f64],
    /// Scratch of length `n * bc`: receives `mu = mask * lambda_out` (only its
    /// first row is used when `lambda_in` is omitted).
    pub mu: &'a mut [f64],
    pub bc: usize,
}

/// Lanes of the dot products (independent partial sums, two AVX2 registers).
const LANES: usize = 8;

#[inline(always)]
fn dot<const FMA: bool, const CLAMP_X: bool>(a: &[f64], x: &[f64]) -> f64 {
    let mut lanes = [0.0f64; LANES];
    let mut ac = a.chunks_exact(LANES);
    let mut xc = x.chunks_exact(LANES);
    for (ca, cx) in (&mut ac).zip(&mut xc) {
        for l in 0..LANES {
            let xv = if CLAMP_X { clamp_value(cx[l]) } else { cx[l] };
            lanes[l] = fma::<FMA>(ca[l], xv, lanes[l]);
        }
    }
    let mut s = 0.0;
    for (&va, &vx) in ac.remainder().iter().zip(xc.remainder()) {
        let xv = if CLAMP_X { clamp_value(vx) } else { vx };
        s += va * xv;
    }
    lanes.iter().sum::<f64>() + s
}

/// `dm[k] += <mu_r, x[c_k]>` for every entry `k` of row `r`.
#[inline(always)]
fn row_dots<const FMA: bool, const CLAMP_X: bool>(
    pattern: &Pattern,
    r: usize,
    mu_r: &[f64],
    x: &[f64],
    bc: usize,
    dm: &mut [f64],
) {
    for k in pattern.row(r) {
        let c = pattern.col(k);
        dm[k] += dot::<FMA, CLAMP_X>(mu_r, &x[c * bc..(c + 1) * bc]);
    }
}

#[inline(always)]
fn backward_impl<const FMA: bool>(a: BackwardArgs<'_>) {
    let BackwardArgs { pattern, m, f, clamp_input, pre_clamp, lambda_out, mut lambda_in, dm, mu, bc } = a;
    let n = pattern.n();
    // One sweep over the rows: mu_r = mask * lambda_out (d max(g, 0)/dg = 1 for
    // g >= 0, torch.clamp's convention), the row's dot products for dM, and
    // lambda_in = M^T mu for every column whose rows are all known, while
    // the rows it needs are still in cache.
    // Without lambda_in nobody reads mu after its row: one row of scratch,
    // which stays in L1, instead of a full-size write (at unroll 1 every
    // step is a first step, and the step is bound by memory traffic).
    let keep_mu = lambda_in.is_some();
    for r in 0..n {
        let lo = &lambda_out[r * bc..(r + 1) * bc];
        let mu_at = if keep_mu { r * bc } else { 0 };
        let mu_r = &mut mu[mu_at..mu_at + bc];
        match pre_clamp {
            Some(g) => {
                for ((u, &l), &gv) in mu_r.iter_mut().zip(lo).zip(&g[r * bc..(r + 1) * bc]) {
                    *u = if gv >= 0.0 { l } else { 0.0 };
                }
            }
            None => mu_r.copy_from_slice(lo),
        }
        let mu_r = &mu[mu_at..mu_at + bc];
        if clamp_input {
            row_dots::<FMA, true>(pattern, r, mu_r, f, bc, dm);
        } else {
            row_dots::<FMA, false>(pattern, r, mu_r, f, bc, dm);
        }
        if let Some(li) = lambda_in.as_deref_mut()
            && r >= pattern.band
        {
            transposed_row::<FMA>(pattern, m, r - pattern.band, mu, bc, li);
        }
    }
    if let Some(li) = lambda_in {
        for c in n.saturating_sub(pattern.band)..n {
            transposed_row::<FMA>(pattern, m, c, mu, bc, li);
        }
    }
}

/// `lambda_in[c] = sum_r M[r, c] mu[r]`. A function, not a closure, so that
/// it inherits the caller's target features when inlined.
#[inline(always)]
fn transposed_row<const FMA: bool>(
    pattern: &Pattern,
    m: &[f64],
    c: usize,
    mu: &[f64],
    bc: usize,
    lambda_in: &mut [f64],
) {
    let entries = pattern.col_entries(c).map(|(r, k)| (m[k], r));
    let row_out = RowOut { out: Some(&mut lambda_in[c * bc..(c + 1) * bc]), pre_clamp: None, clamp: false };
    row_sum::<FMA, _>(entries, mu, bc, row_out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn forward_avx2(a: ForwardArgs<'_>) {
    forward_impl::<true>(a)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn backward_avx2(a: BackwardArgs<'_>) {
    backward_impl::<true>(a)
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"))
}

/// One explicit step `out = max(M f, 0)` on a chunk, with the widest SIMD
/// the CPU offers (AVX2+FMA detected at run time, portable code otherwise).
pub(crate) fn forward(a: ForwardArgs<'_>) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above).
        unsafe { forward_avx2(a) };
        return;
    }
    forward_impl::<false>(a)
}

/// The adjoint of [`forward`]: `lambda_in = M^T (mask * lambda_out)` and
/// `dm += (mask * lambda_out) f^T` restricted to the pattern.
pub(crate) fn backward(a: BackwardArgs<'_>) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above).
        unsafe { backward_avx2(a) };
        return;
    }
    backward_impl::<false>(a)
}

/// Arguments of a one-step window on a chunk: the forward step from the
/// data, the loss against the target and the adjoint step, fused.
pub(crate) struct OneStepArgs<'a> {
    pub pattern: &'a Pattern,
    /// Entries of `M = I + dt C`.
    pub m: &'a [f64],
    /// Initial state (data: not clamped), `n * bc`.
    pub f: &'a [f64],
    /// Target of the step, `n * bc`.
    pub target: &'a [f64],
    /// Squared (`true`) or absolute error.
    pub mse: bool,
    /// Weight of the step's loss.
    pub weight: f64,
    /// Whether the step's output is clamped at zero.
    pub clamp: bool,
    /// Accumulates `d loss / d M_k`.
    pub dm: &'a mut [f64],
    /// Scratch of at least `2 * bc`.
    pub scratch: &'a mut [f64],
    pub bc: usize,
}

/// One sweep over the rows does what [`forward`], [`add_loss_gradient`] and
/// [`backward`] do in three, for a window of a single step whose initial
/// state is data (so no adjoint of the input is wanted): row `r` of
/// `g = M f` needs only rows of `f` within the band, and the row's loss
/// gradient, clamp mask and dot products need only row `r` of `g`. The
/// state is then read once instead of twice and nothing of the size of the
/// batch is written (the unfused path writes the output record, the loss
/// gradient and the masked adjoint, and reads each back): the unroll-1
/// stage of a training schedule is bound by that memory traffic.
#[inline(always)]
fn one_step_impl<const FMA: bool>(a: OneStepArgs<'_>) -> f64 {
    let OneStepArgs { pattern, m, f, target, mse, weight, clamp, dm, scratch, bc } = a;
    let (g, mu) = scratch[..2 * bc].split_at_mut(bc);
    let mut loss = 0.0;
    for r in 0..pattern.n() {
        let entries = pattern.row(r).map(|k| (m[k], pattern.col(k)));
        row_sum::<FMA, _>(entries, f, bc, RowOut { out: Some(&mut *g), pre_clamp: None, clamp: false });
        // The loss gradient with the clamp's mask (d max(g, 0)/dg = 1 for
        // g >= 0, as in `backward`) folded in.
        let t = &target[r * bc..(r + 1) * bc];
        loss += match (clamp, mse) {
            (true, true) => loss_lanes::<FMA, false, true, true, true>(g, t, weight, mu),
            (true, false) => loss_lanes::<FMA, false, true, false, true>(g, t, weight, mu),
            (false, true) => loss_lanes::<FMA, false, false, true, false>(g, t, weight, mu),
            (false, false) => loss_lanes::<FMA, false, false, false, false>(g, t, weight, mu),
        };
        row_dots::<FMA, false>(pattern, r, mu, f, bc, dm);
    }
    loss
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn one_step_avx2(a: OneStepArgs<'_>) -> f64 {
    one_step_impl::<true>(a)
}

/// A one-step window fused (see [`one_step_impl`]): returns the weighted
/// loss and adds `d loss / d M` to `dm`.
pub(crate) fn one_step(a: OneStepArgs<'_>) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above).
        return unsafe { one_step_avx2(a) };
    }
    one_step_impl::<false>(a)
}

/// The error of one value and its derivative: `(d^2, 2 d)` or `(|d|, sign d)`
/// of `d = p - t`, `p` clamped at zero first if `CLAMP`.
#[inline(always)]
fn residual<const CLAMP: bool, const MSE: bool>(p: f64, t: f64) -> (f64, f64) {
    let p = if CLAMP { clamp_value(p) } else { p };
    let d = p - t;
    if MSE {
        (d * d, 2.0 * d)
    } else {
        // sign(d) with sign(0) = 0, from two compares used as selects (residual
        // signs are unpredictable, and selects keep the loop vectorised).
        let s = (if d > 0.0 { 1.0 } else { 0.0 }) - (if d < 0.0 { 1.0 } else { 0.0 });
        (d.abs(), s)
    }
}

/// The loss loop with its options as constants, so that it compiles to
/// branch-free SIMD: `lambda (+)= weight * d err / d pred` (zero where
/// `pred < 0` if `MASK`: the clamp's derivative folded in) and returns
/// `weight * sum err`.
#[inline(always)]
fn loss_lanes<const FMA: bool, const ACC: bool, const CLAMP: bool, const MSE: bool, const MASK: bool>(
    pred: &[f64],
    target: &[f64],
    weight: f64,
    lambda: &mut [f64],
) -> f64 {
    #[inline(always)]
    fn put<const FMA: bool, const ACC: bool, const MASK: bool>(l: &mut f64, p: f64, weight: f64, de: f64) {
        let v = if ACC { fma::<FMA>(weight, de, *l) } else { weight * de };
        *l = if MASK && p < 0.0 { 0.0 } else { v };
    }
    // Two loops over the (cache-resident) row rather than one: the first is
    // a plain map, which the loop vectoriser turns into SIMD; the second a
    // sum over eight independent partial sums (no serial dependency through
    // the adds), which is too once the map is out of it.
    for ((l, &p), &t) in lambda.iter_mut().zip(pred).zip(target) {
        let (_, de) = residual::<CLAMP, MSE>(p, t);
        put::<FMA, ACC, MASK>(l, p, weight, de);
    }
    let mut lanes = [0.0f64; LANES];
    let mut pc = pred.chunks_exact(LANES);
    let mut tc = target.chunks_exact(LANES);
    for (p, t) in (&mut pc).zip(&mut tc) {
        let p: &[f64; LANES] = p.try_into().expect("a full chunk");
        let t: &[f64; LANES] = t.try_into().expect("a full chunk");
        for q in 0..LANES {
            lanes[q] += residual::<CLAMP, MSE>(p[q], t[q]).0;
        }
    }
    let rest: f64 =
        pc.remainder().iter().zip(tc.remainder()).map(|(&p, &t)| residual::<CLAMP, MSE>(p, t).0).sum();
    weight * (lanes.iter().sum::<f64>() + rest)
}

#[inline(always)]
fn loss_impl<const FMA: bool, const ACC: bool>(
    pred: &[f64],
    clamp: bool,
    target: &[f64],
    mse: bool,
    weight: f64,
    lambda: &mut [f64],
) -> f64 {
    match (clamp, mse) {
        (true, true) => loss_lanes::<FMA, ACC, true, true, false>(pred, target, weight, lambda),
        (true, false) => loss_lanes::<FMA, ACC, true, false, false>(pred, target, weight, lambda),
        (false, true) => loss_lanes::<FMA, ACC, false, true, false>(pred, target, weight, lambda),
        (false, false) => loss_lanes::<FMA, ACC, false, false, false>(pred, target, weight, lambda),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn loss_avx2<const ACC: bool>(
    pred: &[f64],
    clamp: bool,
    target: &[f64],
    mse: bool,
    weight: f64,
    lambda: &mut [f64],
) -> f64 {
    loss_impl::<true, ACC>(pred, clamp, target, mse, weight, lambda)
}

/// Add `weight * d err(pred - target) / d pred` to `lambda` (or, if not
/// `accumulate`, overwrite `lambda` with it: saves clearing a buffer that
/// is then read once) and return `weight * sum err`, with `err = d^2`
/// (`mse`) or `|d|`; `pred` is clamped on read if `clamp` (it is a
/// pre-clamp record). `d|d|/dd` at 0 is 0.
pub(crate) fn add_loss_gradient(
    pred: &[f64],
    clamp: bool,
    target: &[f64],
    mse: bool,
    weight: f64,
    lambda: &mut [f64],
    accumulate: bool,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above).
        return unsafe {
            if accumulate {
                loss_avx2::<true>(pred, clamp, target, mse, weight, lambda)
            } else {
                loss_avx2::<false>(pred, clamp, target, mse, weight, lambda)
            }
        };
    }
    if accumulate {
        loss_impl::<false, true>(pred, clamp, target, mse, weight, lambda)
    } else {
        loss_impl::<false, false>(pred, clamp, target, mse, weight, lambda)
    }
}

/// `y = C x` for a single distribution (no batching, no clamp).
pub fn spmv(pattern: &Pattern, values: &[f64], x: &[f64], y: &mut [f64]) {
    for (r, yr) in y.iter_mut().enumerate().take(pattern.n()) {
        *yr = pattern.row(r).map(|k| values[k] * x[pattern.col(k)]).sum();
    }
}

/// `x_bar += C^T y_bar` and `values_bar += y_bar x^T` on the pattern: the
/// vector-Jacobian product of [`spmv`] with respect to both `x` and `values`.
pub fn spmv_vjp(
    pattern: &Pattern,
    values: &[f64],
    x: &[f64],
    y_bar: &[f64],
    x_bar: &mut [f64],
    values_bar: &mut [f64],
) {
    for (r, &yb) in y_bar.iter().enumerate().take(pattern.n()) {
        for k in pattern.row(r) {
            let c = pattern.col(k);
            values_bar[k] += yb * x[c];
            x_bar[c] += values[k] * yb;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_merges_and_keeps_diagonal() {
        // C = [[0, 2 t0], [t1 - t1, 0]] -> entry (1, 0) cancels to no term but
        // stays in the pattern; diagonals stored though empty.
        let a =
            LinearAssembly::build(2, 2, [(0, 1, 0, 1.0), (0, 1, 0, 1.0), (1, 0, 1, 1.0), (1, 0, 1, -1.0)]);
        let p = a.pattern();
        assert_eq!(p.nnz(), 4);
        assert_eq!(p.find(0, 0), Some(p.diag(0)));
        let mut v = vec![0.0; 4];
        a.assemble(&[3.0, 5.0], &mut v);
        let d = p.to_dense(&v);
        assert_eq!(d, vec![vec![0.0, 6.0], vec![0.0, 0.0]]);
    }

    #[test]
    fn batched_forward_matches_spmv_and_backward_is_its_transpose() {
        let a =
            LinearAssembly::build(3, 3, [(0, 1, 0, 0.5), (1, 0, 1, -2.0), (2, 2, 2, 1.5), (2, 0, 0, 0.25)]);
        let p = a.pattern().clone();
        let mut m = vec![0.0; p.nnz()];
        a.assemble(&[1.0, 2.0, -3.0], &mut m);
        let bc = 11; // awkward width: SIMD body plus remainder
        let f: Vec<f64> = (0..3 * bc).map(|i| ((i * 7 % 13) as f64 - 6.0) / 5.0).collect();
        let mut out = vec![0.0; 3 * bc];
        forward(ForwardArgs {
            pattern: &p,
            m: &m,
            f: &f,
            out: Some(&mut out),
            pre_clamp: None,
            bc,
            clamp: false,
        });
        for b in 0..bc {
            let x: Vec<f64> = (0..3).map(|c| f[c * bc + b]).collect();
            let mut y = vec![0.0; 3];
            spmv(&p, &m, &x, &mut y);
            for r in 0..3 {
                assert!((y[r] - out[r * bc + b]).abs() < 1e-14);
            }
        }
        // <M f, l> = <f, M^T l>, and dm_k = sum_b l[r] f[c].
        let l: Vec<f64> = (0..3 * bc).map(|i| ((i * 5 % 11) as f64 - 5.0) / 3.0).collect();
        let mut lin = vec![0.0; 3 * bc];
        let mut dm = vec![0.0; p.nnz()];
        let mut mu = vec![0.0; 3 * bc];
        backward(BackwardArgs {
            pattern: &p,
            m: &m,
            f: &f,
            clamp_input: false,
            pre_clamp: None,
            lambda_out: &l,
            lambda_in: Some(&mut lin),
            dm: &mut dm,
            mu: &mut mu,
            bc,
        });
        let lhs: f64 = out.iter().zip(&l).map(|(a, b)| a * b).sum();
        let rhs: f64 = f.iter().zip(&lin).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0));
        let via_dm: f64 = dm.iter().zip(&m).map(|(a, b)| a * b).sum();
        assert!((lhs - via_dm).abs() < 1e-12 * lhs.abs().max(1.0), "sum_k dm_k m_k = <l, M f>");
    }

    #[test]
    fn fused_one_step_matches_forward_loss_backward() {
        // A 5-point Laplacian-like stencil on 6 x 5 cells with entries of
        // both signs, so that the clamp bites; widths with and without a
        // SIMD remainder. The fused pass must give the same loss and dm as
        // the three separate sweeps (same operations, possibly in another
        // order: agreement to rounding).
        let (nx, ny) = (6usize, 5usize);
        let n = nx * ny;
        let mut contrib = Vec::new();
        for i in 0..nx {
            for j in 0..ny {
                let r = i * ny + j;
                contrib.push((r, r, 0, -1.0));
                if i + 1 < nx {
                    contrib.push((r, r + ny, 1, 0.7));
                }
                if i > 0 {
                    contrib.push((r, r - ny, 2, 0.4));
                }
                if j + 1 < ny {
                    contrib.push((r, r + 1, 1, -0.9));
                }
                if j > 0 {
                    contrib.push((r, r - 1, 2, 0.3));
                }
            }
        }
        let a = LinearAssembly::build(n, 3, contrib);
        let p = a.pattern().clone();
        let mut m = vec![0.0; p.nnz()];
        a.assemble(&[0.8, 1.1, -0.6], &mut m);
        for k in 0..n {
            m[p.diag(k)] += 1.0;
        }
        for bc in [11usize, 16, 37] {
            let f: Vec<f64> = (0..n * bc).map(|i| ((i * 7 % 13) as f64) / 5.0).collect();
            let t: Vec<f64> = (0..n * bc).map(|i| ((i * 5 % 17) as f64) / 6.0).collect();
            for (clamp, mse) in [(true, false), (true, true), (false, false), (false, true)] {
                let weight = 0.37;
                let mut rec = vec![0.0; n * bc];
                let args = if clamp {
                    ForwardArgs { pattern: &p, m: &m, f: &f, out: None, pre_clamp: Some(&mut rec), bc, clamp }
                } else {
                    ForwardArgs { pattern: &p, m: &m, f: &f, out: Some(&mut rec), pre_clamp: None, bc, clamp }
                };
                forward(args);
                assert!(rec.iter().any(|&g| g < 0.0), "the test must exercise the clamp");
                let mut lambda = vec![0.0; n * bc];
                let loss = add_loss_gradient(&rec, clamp, &t, mse, weight, &mut lambda, false);
                let mut dm = vec![0.0; p.nnz()];
                let mut mu = vec![0.0; n * bc];
                backward(BackwardArgs {
                    pattern: &p,
                    m: &m,
                    f: &f,
                    clamp_input: false,
                    pre_clamp: clamp.then_some(&rec[..]),
                    lambda_out: &lambda,
                    lambda_in: None,
                    dm: &mut dm,
                    mu: &mut mu,
                    bc,
                });
                let mut dm_fused = vec![0.0; p.nnz()];
                let mut scratch = vec![0.0; 2 * bc];
                let loss_fused = one_step(OneStepArgs {
                    pattern: &p,
                    m: &m,
                    f: &f,
                    target: &t,
                    mse,
                    weight,
                    clamp,
                    dm: &mut dm_fused,
                    scratch: &mut scratch,
                    bc,
                });
                assert!((loss - loss_fused).abs() <= 1e-12 * loss.abs(), "loss {loss} vs {loss_fused}");
                let scale = dm.iter().fold(0.0f64, |s, v| s.max(v.abs()));
                assert!(scale > 0.0);
                for (x, y) in dm.iter().zip(&dm_fused) {
                    assert!(
                        (x - y).abs() <= 1e-12 * scale,
                        "dm {x} vs {y} (bc {bc}, clamp {clamp}, mse {mse})"
                    );
                }
            }
        }
    }
}
