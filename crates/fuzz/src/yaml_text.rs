//! Mutations of YAML mappings of one level (`args.yaml`): keys dropped,
//! added or repeated, values replaced by ones of the wrong type or out of
//! range.

use proptest::prelude::*;
use proptest::sample::Index;

/// Values (in YAML flow style) that a corrupt or careless `args.yaml` may
/// hold.
pub fn weird_values() -> Vec<String> {
    let mut v: Vec<String> = [
        "0",
        "-1",
        "-0.0",
        "1",
        ".nan",
        ".inf",
        "-.inf",
        "1e300",
        "1.0e+300",
        "-1.0e+300",
        "5e-324",
        "18446744073709551615",
        "9223372036854775807",
        "-9223372036854775808",
        "4294967296",
        "[]",
        "[1]",
        "[0, 0]",
        "[1000000000, 1000000000]",
        "[-5.0, 5.0, -5.0]",
        "[-5.0, 5.0, 5.0, -5.0]",
        "[.nan, 1, 2, 3]",
        "{a: 1}",
        "true",
        "null",
        "~",
        "''",
        "'em'",
        "*anchor",
        "&a [1, *a]",
        "!!binary aGVsbG8=",
        "0x10",
        "1_000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("'{}'", "x".repeat(100_000)));
    v.push(format!("{}1{}", "[".repeat(3000), "]".repeat(3000)));
    v.push(format!("{}{}", "{a: ".repeat(3000), "1}".repeat(3000)));
    // Aliases of aliases in one value: 8^6 values once expanded.
    let mut bomb = vec!["&l0 [1, 1, 1, 1, 1, 1, 1, 1]".to_string()];
    for level in 1..6 {
        bomb.push(format!("&l{level} [{}]", vec![format!("*l{}", level - 1); 8].join(", ")));
    }
    v.push(format!("[{}]", bomb.join(", ")));
    v
}

/// One change of a one-level mapping.
#[derive(Debug, Clone)]
pub enum YamlMutation {
    /// Removes a key.
    Drop { at: Index },
    /// Replaces a value.
    Set { at: Index, value: Index },
    /// Repeats a key with another value.
    Repeat { at: Index, value: Index },
    /// Adds a key of another name.
    Add { value: Index },
}

/// Any [`YamlMutation`].
pub fn mutation() -> impl Strategy<Value = YamlMutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(|at| YamlMutation::Drop { at }),
        6 => (any::<Index>(), any::<Index>()).prop_map(|(at, value)| YamlMutation::Set { at, value }),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(at, value)| YamlMutation::Repeat { at, value }),
        1 => any::<Index>().prop_map(|value| YamlMutation::Add { value }),
    ]
}

/// One to `max` mutations.
pub fn mutations(max: usize) -> impl Strategy<Value = Vec<YamlMutation>> {
    prop::collection::vec(mutation(), 1..=max.max(1))
}

/// The mapping `pairs` (key, value in flow style) with `changes` applied,
/// as YAML text.
pub fn mutate(pairs: &[(String, String)], changes: &[YamlMutation]) -> String {
    let weird = weird_values();
    let mut pairs = pairs.to_vec();
    for c in changes {
        let n = pairs.len();
        match c {
            YamlMutation::Drop { at } if n > 0 => {
                pairs.remove(at.index(n));
            }
            YamlMutation::Set { at, value } if n > 0 => pairs[at.index(n)].1 = value.get(&weird).clone(),
            YamlMutation::Repeat { at, value } if n > 0 => {
                let key = pairs[at.index(n)].0.clone();
                pairs.push((key, value.get(&weird).clone()));
            }
            YamlMutation::Add { value } => pairs.push(("unknown_key".into(), value.get(&weird).clone())),
            _ => {}
        }
    }
    pairs.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
}
