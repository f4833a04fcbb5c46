//! Reading `INPUT_*` environment variables into [`RawInputs`].
//!
//! `INPUT_API-TOKEN` (GitHub, hyphen kept), `INPUT_API_TOKEN` (GitLab, shells) and any case are the
//! input `api-token`. An empty or blank value is unset. Two spellings with different values are an
//! error; a variable that looks like an input but is none is kept in [`RawInputs::unknown`].

use std::collections::BTreeMap;

use super::table::canonical;
use super::{InputError, RawInputs};

/// The input a variable name spells (`INPUT_` in any case, then an input's name), if any;
/// `Err(())` for an `INPUT_*` variable that names no input.
fn input_of(key: &str) -> Option<Result<&'static str, ()>> {
    let rest = key
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("INPUT_"))
        .map(|_| &key[6..])?;
    Some(canonical(rest).ok_or(()))
}

/// Whether the variable `key` is the `api-token` input in one of its spellings.
pub(super) fn is_token(key: &str) -> bool {
    matches!(input_of(key), Some(Ok("api-token")))
}

/// Copies every `INPUT_*` variable of `env` into `raw`.
///
/// Errors: an input set by two spellings with different values.
pub(super) fn read(env: &BTreeMap<String, String>, raw: &mut RawInputs) -> Result<(), InputError> {
    let mut sources: BTreeMap<&'static str, (String, String)> = BTreeMap::new();
    for (key, value) in env {
        let name = match input_of(key) {
            None => continue,
            Some(Err(())) => {
                raw.unknown.push(key.clone());
                continue;
            }
            Some(Ok(name)) => name,
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        if let Some((other_key, other_value)) = sources.get(name) {
            if other_value != value {
                return Err(InputError::new(
                    name,
                    format!("set twice with different values, by {other_key} and {key}"),
                )
                .hint("set only one spelling of the variable"));
            }
        }
        sources.insert(name, (key.clone(), value.to_string()));
        raw.set(name, value);
        raw.given_as.insert(name, format!("`{key}`"));
    }
    Ok(())
}
