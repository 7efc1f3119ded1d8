//! Growth of the Weibel instability in a finished run, against linear
//! theory: `cargo run --release -p collop-pic --example weibel_growth -- RUN [T_NOISE]`.
//!
//! The run's deck must have a bi-Maxwellian first species hot along `x`
//! (`T_perp = T_x`, `T_par = T_y`) and field snapshots
//! (`fields_every_dumps`). The unstable modes have `k` along `y` and
//! `B_z`: the `x`-average of `B_z` at each snapshot, Fourier-analysed along
//! `y`, gives the amplitude `|B_m|` of the box modes `k_m = 2 pi m / L_y`.
//! The measured growth rate of a mode is the least-squares slope of
//! `ln |B_m|` over its linear phase: from three times its thermal level
//! (the median over the first `T_NOISE / omega_p`, default 10) to a third
//! of its peak; that of the magnetic energy `W_B` (`energy.csv`) is the
//! same fit of `ln(W_B) / 2`. Theory: the non-relativistic bi-Maxwellian
//! dispersion relation ([`collop_theory::weibel_growth_rate`]), which
//! leaves out the relativistic mass increase, and the same relation with
//! `v = u / gamma` integrated over the momentum distribution (about 12 %
//! slower growth at `u_th,x = 0.25 c`).

use std::path::{Path, PathBuf};

use collop_pic::deck::{Deck, Distribution};

/// The exponential growth rate of an amplitude `a(t)` given as `ln a`: the
/// least-squares slope of `ln a` over the stretch where `a` has risen to
/// three times its thermal level (the median over `t <= t_noise`) and not
/// yet reached a third of its peak (the linear phase between the noise and
/// the saturation), with the stretch's start and end times.
fn fitted_growth(t: &[f64], ln_a: &[f64], t_noise: f64) -> (f64, f64, f64) {
    let mut early: Vec<f64> = t.iter().zip(ln_a).filter(|(t, _)| **t <= t_noise).map(|(_, a)| *a).collect();
    early.sort_by(f64::total_cmp);
    let noise = early.get(early.len() / 2).copied().unwrap_or(f64::NAN);
    let peak = (0..ln_a.len()).max_by(|&a, &b| ln_a[a].total_cmp(&ln_a[b])).unwrap_or(0);
    let lower = noise + 3f64.ln();
    let upper = ln_a[peak] - 3f64.ln();
    let first = (0..peak).find(|&i| ln_a[i] > lower && t[i] > t_noise).unwrap_or(peak);
    let last = (first..peak).rev().find(|&i| ln_a[i] < upper).unwrap_or(first);
    if last < first + 2 {
        return (f64::NAN, t[first], t[last]);
    }
    let (tt, yy) = (&t[first..=last], &ln_a[first..=last]);
    let n = tt.len() as f64;
    let (mt, my) = (tt.iter().sum::<f64>() / n, yy.iter().sum::<f64>() / n);
    let cov: f64 = tt.iter().zip(yy).map(|(a, b)| (a - mt) * (b - my)).sum();
    let var: f64 = tt.iter().map(|a| (a - mt).powi(2)).sum();
    (cov / var, t[first], t[last])
}

/// The growth rate of the same mode with the relativistic mass: the
/// linearised Vlasov-Maxwell dispersion relation for `k` along `y`, `E`
/// along `x` and `omega = i gamma`,
/// `gamma^2 + k^2 = -<u_x^2 / (G T_x)> + < (u_x^2 / G^2) (k^2 u_y^2 / (G T_y)) / (gamma^2 + k^2 u_y^2 / G^2) >`
/// (`G = sqrt(1 + u^2)`, `v = u / G`, averages over the Gaussian momentum
/// distribution of spreads `u_th`), which for `G = 1` is the relation of
/// [`collop_theory::weibel_growth_rate`]. Midpoint quadrature on `40^3`
/// points within 6 standard deviations, bisection in `gamma`.
fn relativistic_growth_rate(k: f64, u_th: [f64; 3]) -> f64 {
    let n = 40;
    let mut points = Vec::with_capacity(n * n * n);
    let node = |s: f64, i: usize| -6.0 * s + (i as f64 + 0.5) * 12.0 * s / n as f64;
    for i in 0..n {
        for j in 0..n {
            for l in 0..n {
                let u = [node(u_th[0], i), node(u_th[1], j), node(u_th[2], l)];
                let w = (0..3).map(|a| -0.5 * (u[a] / u_th[a]).powi(2)).sum::<f64>().exp();
                let g = (1.0 + u[0] * u[0] + u[1] * u[1] + u[2] * u[2]).sqrt();
                points.push((u[0], u[1], g, w));
            }
        }
    }
    let norm: f64 = points.iter().map(|p| p.3).sum();
    let (tx, ty) = (u_th[0] * u_th[0], u_th[1] * u_th[1]);
    let i1 = -points.iter().map(|&(ux, _, g, w)| w * ux * ux / (g * tx)).sum::<f64>() / norm;
    let d = |gamma: f64| {
        let i2: f64 = points
            .iter()
            .map(|&(ux, uy, g, w)| {
                let kv2 = (k * uy / g).powi(2);
                w * (ux * ux / (g * g)) * (k * k * uy * uy / (g * ty)) / (gamma * gamma + kv2)
            })
            .sum::<f64>()
            / norm;
        i1 + i2 - gamma * gamma - k * k
    };
    let (mut lo, mut hi) = (1e-9, 1.0);
    if d(lo) <= 0.0 {
        return 0.0;
    }
    for _ in 0..50 {
        let mid = 0.5 * (lo + hi);
        if d(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(run) = args.first().map(PathBuf::from) else {
        return Err("usage: weibel_growth RUN [T_NOISE]".into());
    };
    let t_noise: f64 = args.get(1).map_or(Ok(10.0), |w| w.parse())?;
    let deck = Deck::from_file(run.join("deck.toml"))?;
    let Some(Distribution::BiMaxwellian { u_th, .. }) = &deck.species[0].distribution else {
        return Err("the first species is not a bi-Maxwellian".into());
    };
    let anisotropy = (u_th[0] / u_th[1]).powi(2);
    let (k_max, gamma_max) = collop_theory::weibel_fastest_growth(anisotropy, u_th[1])?;
    println!(
        "T_x / T_y = {anisotropy:.3}, v_th,y = {:.4} c: fastest mode k = {k_max:.4} omega_p / c \
         (wavelength {:.3} c / omega_p), gamma = {gamma_max:.4} omega_p",
        u_th[1],
        2.0 * std::f64::consts::PI / k_max
    );

    // Magnetic energy history.
    let energy = collop_pic::history::read_energy(&run)?;
    let (mut t, mut lw) = (Vec::new(), Vec::new());
    for r in energy.records.iter().filter(|r| r.magnetic > 0.0) {
        t.push(r.time);
        lw.push(0.5 * r.magnetic.ln());
    }
    let dump_dt = deck.time.dt * deck.time.dump_every as f64;
    let (rate, from, to) = fitted_growth(&t, &lw, t_noise);
    let peak = lw.iter().cloned().fold(f64::MIN, f64::max);
    println!(
        "magnetic energy: peak {:.3e} at t = {:.1}; growth of ln(W_B) / 2 over t = {from:.1} ... {to:.1}: \
         {rate:.4} omega_p ({:.2} of theory)",
        (2.0 * peak).exp(),
        t[lw.iter().position(|&v| v == peak).unwrap_or(0)],
        rate / gamma_max
    );

    // Box modes of the x-averaged B_z.
    let (nx, ny) = (deck.grid.nx, deck.grid.ny);
    let ly = ny as f64 * deck.grid.dy;
    let modes: Vec<usize> = (1..ny / 2)
        .filter(|&m| 2.0 * std::f64::consts::PI * m as f64 / ly < (anisotropy - 1.0).sqrt())
        .collect();
    let mut times = Vec::new();
    let mut amps: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    let dir: &Path = &run.join("fields");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    files.sort();
    for f in files {
        let dump: usize = f.file_stem().and_then(|s| s.to_str()).ok_or("bad name")?.parse()?;
        if dump == 0 {
            continue; // B = 0 at t = 0: no amplitude to take the logarithm of.
        }
        let bz = collop_io::read_npz_array(&f, "bz")?;
        let profile: Vec<f64> =
            (0..ny).map(|j| (0..nx).map(|i| bz[[i, j]]).sum::<f64>() / nx as f64).collect();
        for (a, &m) in amps.iter_mut().zip(&modes) {
            let (mut re, mut im) = (0.0, 0.0);
            for (j, v) in profile.iter().enumerate() {
                let ph = 2.0 * std::f64::consts::PI * (m * j) as f64 / ny as f64;
                re += v * ph.cos();
                im -= v * ph.sin();
            }
            a.push((re.hypot(im) * 2.0 / ny as f64).max(f64::MIN_POSITIVE).ln());
        }
        times.push(dump as f64 * dump_dt);
    }
    println!(
        "mode  k (omega_p/c)  theory gamma  relativistic  measured gamma  ratio  ratio (rel.)  fitted over t  peak |B_m|"
    );
    for (a, &m) in amps.iter().zip(&modes) {
        let k = 2.0 * std::f64::consts::PI * m as f64 / ly;
        let theory = collop_theory::weibel_growth_rate(k, anisotropy, u_th[1])?;
        let relativistic = relativistic_growth_rate(k, *u_th);
        let (measured, from, to) = fitted_growth(&times, a, t_noise);
        let peak = a.iter().cloned().fold(f64::MIN, f64::max).exp();
        println!(
            "{m:>4}  {k:>13.4}  {theory:>12.4}  {relativistic:>12.4}  {measured:>14.4}  {:>5.2}  {:>12.2}  \
             {from:>5.1} ... {to:<5.1}  {peak:.3e}",
            measured / theory,
            measured / relativistic
        );
    }
    if std::env::var_os("WEIBEL_SERIES").is_some() {
        for (i, t) in times.iter().enumerate() {
            let row: Vec<String> = amps.iter().map(|a| format!("{:.3e}", a[i].exp())).collect();
            println!("{t:6.1} {}", row.join(" "));
        }
    }
    Ok(())
}
