//! The shapes of the ids the API hands back, checked before an id goes into a request path, a
//! query or a console link.
//!
//! - Services, environments, organizations, projects, deployment stages and deployment requests
//!   are UUIDs: 8-4-4-4-12 hexadecimal digits (the spec's `format: uuid`).
//! - Executions are `<environment uuid>-<n>` (the spec's `DeploymentBuildUsageReportRequest`:
//!   "format environment_id-version"; notes §7).
//!
//! An id of another shape (`../x`, `a/b`, a query) is never used: where an answer is read
//! ([`crate::api::Client`]'s typed reads), it makes the answer unreadable (an
//! [`crate::api::ApiError::Decode`], which a wait counts as a missed tick); where a path is built
//! from it, nothing is sent ([`crate::api::ApiError::MalformedId`]).

use std::fmt;

/// Characters of a malformed id shown in messages (escaped, cut).
const SHOWN_CHARS: usize = 60;

/// What an id must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `8-4-4-4-12` hexadecimal digits.
    Uuid,
    /// `<uuid>-<n>`, `n` decimal.
    Execution,
}

impl Shape {
    pub fn fits(self, id: &str) -> bool {
        match self {
            Shape::Uuid => is_uuid(id),
            Shape::Execution => is_execution_id(id),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Shape::Uuid => "a UUID",
            Shape::Execution => "an execution id (`<uuid>-<n>`)",
        }
    }
}

/// `8-4-4-4-12` hexadecimal digits, hyphenated, nothing else.
pub fn is_uuid(id: &str) -> bool {
    is_uuid_bytes(id.as_bytes())
}

fn is_uuid_bytes(id: &[u8]) -> bool {
    id.len() == 36
        && id.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `<uuid>-<n>` with `n` 1 to 20 decimal digits.
pub fn is_execution_id(id: &str) -> bool {
    // Bytes, not `&str` slices: an id from the API may hold a multi-byte character exactly where
    // a slice would cut, and a check must never panic.
    let bytes = id.as_bytes();
    bytes.len() > 37
        && bytes.len() - 37 <= 20
        && is_uuid_bytes(&bytes[..36])
        && bytes[36] == b'-'
        && bytes[37..].iter().all(u8::is_ascii_digit)
}

/// An id from the API that does not have its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedId {
    /// What the id is: `deployment request id`, `service id`, …
    pub what: &'static str,
    pub shape: Shape,
    /// The id, escaped and cut for messages.
    pub shown: String,
}

impl fmt::Display for MalformedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} `{}` is not {}",
            self.what,
            self.shown,
            self.shape.describe()
        )
    }
}

impl std::error::Error for MalformedId {}

/// `id` when it has `shape`.
///
/// Errors: [`MalformedId`] naming `what`, with the id escaped and cut.
pub fn check<'a>(what: &'static str, shape: Shape, id: &'a str) -> Result<&'a str, MalformedId> {
    if shape.fits(id) {
        return Ok(id);
    }
    Err(MalformedId {
        what,
        shape,
        shown: crate::neutral::cut(&crate::neutral::inline(id), SHOWN_CHARS).into_owned(),
    })
}

/// An optional id from an answer: absent or empty is `None`, a well-shaped one is kept.
///
/// Errors: [`MalformedId`] for any other value.
pub fn check_optional(
    what: &'static str,
    shape: Shape,
    id: &mut Option<String>,
) -> Result<(), MalformedId> {
    if id.as_deref().is_some_and(str::is_empty) {
        *id = None;
    }
    match id.as_deref() {
        Some(value) => check(what, shape, value).map(drop),
        None => Ok(()),
    }
}

/// For an answer that must not be thrown away (a deploy `POST` that was accepted): a malformed
/// id is removed, and returned for a warning; an empty one becomes `None`.
pub fn take_malformed(
    what: &'static str,
    shape: Shape,
    id: &mut Option<String>,
) -> Option<MalformedId> {
    let problem = check_optional(what, shape, id).err();
    if problem.is_some() {
        *id = None;
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10";

    #[test]
    fn shapes() {
        assert!(is_uuid(ENV));
        assert!(is_uuid(&ENV.to_uppercase()));
        for bad in [
            "",
            "../../x",
            "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a1",
            "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10/..",
            "b6a6a1c42f0e4a449f4b6f3e9d2c7a10xxxx",
            "{6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10",
            "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a1é",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
        assert!(is_execution_id(&format!("{ENV}-42")));
        for bad in [
            ENV.to_string(),
            format!("{ENV}-"),
            format!("{ENV}-4/2"),
            format!("{ENV}-42?x"),
            format!("{ENV}-{}", "9".repeat(21)),
            "env-41".to_string(),
            // A multi-byte character across byte 36, where a `&str` slice would panic.
            format!("{}é-41", &ENV[..35]),
            format!("{}-é1", ENV),
            format!("{}ü", &ENV[..36]),
        ] {
            assert!(!is_execution_id(&bad), "{bad}");
        }
    }

    proptest::proptest! {
        /// No string, whatever its characters, makes a shape check panic.
        #[test]
        fn no_id_makes_a_check_panic(id in "\\PC{0,60}", prefix in 0usize..=37) {
            let _ = is_uuid(&id);
            let _ = is_execution_id(&id);
            // Near-misses: a real UUID's first bytes followed by arbitrary characters.
            let near = format!("{}{id}", &ENV[..prefix.min(36)]);
            let _ = is_uuid(&near);
            let _ = is_execution_id(&near);
        }
    }

    #[test]
    fn malformed_ids_are_named_escaped_and_cut() {
        let err = check("deployment request id", Shape::Uuid, "../x\n::error::y").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the deployment request id `../x\\n::error::y` is not a UUID"
        );
        let long = "x".repeat(500);
        assert!(
            check("service id", Shape::Uuid, &long)
                .unwrap_err()
                .shown
                .chars()
                .count()
                <= 60
        );
        let mut id = Some(String::new());
        assert_eq!(check_optional("id", Shape::Uuid, &mut id), Ok(()));
        assert_eq!(id, None);
        let mut id = Some("../x".to_string());
        assert!(take_malformed("id", Shape::Uuid, &mut id).is_some());
        assert_eq!(id, None);
        let mut id = Some(ENV.to_string());
        assert!(take_malformed("id", Shape::Uuid, &mut id).is_none());
        assert_eq!(id.as_deref(), Some(ENV));
    }
}
