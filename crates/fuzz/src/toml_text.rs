//! Mutations of TOML files (training configs, PIC decks): a valid file is
//! parsed, keys are dropped or added and values replaced by ones of the
//! wrong type or out of range, and the result written back as text.

use proptest::prelude::*;
use proptest::sample::Index;
use toml::{Table, Value};

/// Written in place of [`Weird::U64Max`], which a TOML value cannot hold.
const U64_MAX_MARK: &str = "@@u64-max@@";
/// Written in place of [`Weird::Deep`].
const DEEP_MARK: &str = "@@deep@@";

/// A value that a corrupt or careless file may hold.
#[derive(Debug, Clone)]
pub enum Weird {
    /// An integer: 0, -1, 1, 2^63 - 1, -2^63, 2^32.
    Int(i64),
    /// A float: 0, -0, -1, NaN, +-infinity, +-1e300, the smallest subnormal.
    Float(f64),
    /// 2^64 - 1 written as a bare integer (out of TOML's range).
    U64Max,
    /// A string: empty, a NUL, a very long one, a path-like one.
    Str(String),
    /// `true`.
    Bool,
    /// An empty array.
    EmptyArray,
    /// An array of mixed values.
    MixedArray,
    /// An empty table.
    EmptyTable,
    /// Arrays nested 2000 deep.
    Deep,
}

impl Weird {
    fn value(&self) -> Value {
        match self {
            Weird::Int(i) => Value::Integer(*i),
            Weird::Float(x) => Value::Float(*x),
            Weird::U64Max => Value::String(U64_MAX_MARK.into()),
            Weird::Str(s) => Value::String(s.clone()),
            Weird::Bool => Value::Boolean(true),
            Weird::EmptyArray => Value::Array(Vec::new()),
            Weird::MixedArray => {
                Value::Array(vec![Value::Integer(-1), Value::Float(f64::NAN), Value::Boolean(false)])
            }
            Weird::EmptyTable => Value::Table(Table::new()),
            Weird::Deep => Value::String(DEEP_MARK.into()),
        }
    }
}

/// Any [`Weird`] value.
pub fn weird() -> impl Strategy<Value = Weird> {
    prop_oneof![
        3 => prop::sample::select(vec![0i64, -1, 1, i64::MAX, i64::MIN, 1 << 32]).prop_map(Weird::Int),
        3 => prop::sample::select(vec![
            0.0,
            -0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -1e300,
            5e-324
        ])
        .prop_map(Weird::Float),
        1 => Just(Weird::U64Max),
        2 => prop::sample::select(vec![
            String::new(),
            "\0".to_string(),
            "x".repeat(100_000),
            "../../etc".to_string(),
            "é🦀".to_string(),
        ])
        .prop_map(Weird::Str),
        1 => Just(Weird::Bool),
        1 => Just(Weird::EmptyArray),
        1 => Just(Weird::MixedArray),
        1 => Just(Weird::EmptyTable),
        1 => Just(Weird::Deep),
    ]
}

/// One step of the path to a value: a key of a table or an index of an array.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    At(usize),
}

fn paths(v: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match v {
        Value::Table(t) => {
            for (k, x) in t {
                prefix.push(Step::Key(k.clone()));
                out.push(prefix.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (k, x) in a.iter().enumerate() {
                prefix.push(Step::At(k));
                out.push(prefix.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// The container holding the last step of `path`.
fn parent<'a>(root: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut v = root;
    for s in &path[..path.len().saturating_sub(1)] {
        v = match (s, v) {
            (Step::Key(k), Value::Table(t)) => t.get_mut(k)?,
            (Step::At(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// One change of a TOML document.
#[derive(Debug, Clone)]
pub enum TomlMutation {
    /// Removes a key (or an array element).
    Remove { at: Index },
    /// Replaces a value.
    Set { at: Index, value: Weird },
    /// Adds an unknown key next to a value.
    Add { at: Index, value: Weird },
}

/// Any [`TomlMutation`].
pub fn mutation() -> impl Strategy<Value = TomlMutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(|at| TomlMutation::Remove { at }),
        5 => (any::<Index>(), weird()).prop_map(|(at, value)| TomlMutation::Set { at, value }),
        1 => (any::<Index>(), weird()).prop_map(|(at, value)| TomlMutation::Add { at, value }),
    ]
}

/// One to `max` mutations.
pub fn mutations(max: usize) -> impl Strategy<Value = Vec<TomlMutation>> {
    prop::collection::vec(mutation(), 1..=max.max(1))
}

/// Whether a value is an integer above 2^31 in size (a size or count that
/// no run can hold), 2^64 - 1 included.
pub fn is_huge_integer(w: &Weird) -> bool {
    matches!(w, Weird::Int(i) if i.unsigned_abs() > 1 << 31) || matches!(w, Weird::U64Max)
}

/// One to `max` mutations whose values are not [huge integers](is_huge_integer).
pub fn mutations_without_huge_integers(max: usize) -> impl Strategy<Value = Vec<TomlMutation>> {
    let m = mutation().prop_filter("no huge integer", |m| match m {
        TomlMutation::Set { value, .. } | TomlMutation::Add { value, .. } => !is_huge_integer(value),
        TomlMutation::Remove { .. } => true,
    });
    prop::collection::vec(m, 1..=max.max(1))
}

/// `text` (a valid TOML document) with `changes` applied, as TOML text.
pub fn mutate(text: &str, changes: &[TomlMutation]) -> String {
    let Ok(table) = text.parse::<Table>() else { return text.to_string() };
    let mut root = Value::Table(table);
    for c in changes {
        let mut all = Vec::new();
        paths(&root, &mut Vec::new(), &mut all);
        if all.is_empty() {
            break;
        }
        let (at, value) = match c {
            TomlMutation::Remove { at } => (at, None),
            TomlMutation::Set { at, value } | TomlMutation::Add { at, value } => (at, Some(value.value())),
        };
        let path = &all[at.index(all.len())];
        let Some(container) = parent(&mut root, path) else { continue };
        match (path.last(), container, value, c) {
            (Some(Step::Key(_)), Value::Table(t), Some(v), TomlMutation::Add { .. }) => {
                t.insert("unknown_key".into(), v);
            }
            (Some(Step::Key(k)), Value::Table(t), Some(v), _) => {
                t.insert(k.clone(), v);
            }
            (Some(Step::Key(k)), Value::Table(t), None, _) => {
                t.remove(k);
            }
            (Some(Step::At(_)), Value::Array(a), Some(v), TomlMutation::Add { .. }) => a.push(v),
            (Some(Step::At(i)), Value::Array(a), Some(v), _) => a[*i] = v,
            (Some(Step::At(i)), Value::Array(a), None, _) => {
                a.remove(*i);
            }
            _ => {}
        }
    }
    let Value::Table(t) = root else { return text.to_string() };
    match toml::to_string(&t) {
        Ok(s) => s
            .replace(&format!("\"{U64_MAX_MARK}\""), "18446744073709551615")
            .replace(&format!("\"{DEEP_MARK}\""), &format!("{}{}", "[".repeat(2000), "]".repeat(2000))),
        Err(_) => text.to_string(),
    }
}
