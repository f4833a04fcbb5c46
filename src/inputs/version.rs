//! The forms a version may take, one per request field, so that a typo (`api==x` sends
//! `git_commit_id: "=x"`) is bad input instead of a deployment of nothing.
//!
//! | field | form | source of the rule |
//! |---|---|---|
//! | `git_commit_id` | 7 to 40 hexadecimal digits (64 for SHA-256 repositories) | git object names (`git rev-parse --short` gives 7 by default) |
//! | `image_tag` | 1 to 128 of `[A-Za-z0-9_.-]`, not starting with `.` or `-` | the OCI distribution spec's tag grammar `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}` |
//! | `chart_version` | SemVer 2 (`1.2.3`, `1.2.3-rc.1+build.5`), an optional leading `v` | Helm: "every chart must have a version number … following the SemVer 2 standard" |

use crate::kind::ServiceKind;

/// Which form a version must have: the request field it goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionForm {
    Commit,
    ImageTag,
    ChartVersion,
}

impl VersionForm {
    /// The rule, for messages.
    pub fn rule(self) -> &'static str {
        match self {
            VersionForm::Commit => {
                "a commit SHA: 7 to 40 hexadecimal digits (64 for SHA-256 repositories)"
            }
            VersionForm::ImageTag => {
                "an image tag: 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-` (the OCI tag rule)"
            }
            VersionForm::ChartVersion => {
                "a chart version: SemVer 2, such as 1.2.3 or 1.2.3-rc.1 (Helm's rule)"
            }
        }
    }

    pub fn fits(self, value: &str) -> bool {
        match self {
            VersionForm::Commit => is_commit(value),
            VersionForm::ImageTag => is_image_tag(value),
            VersionForm::ChartVersion => is_chart_version(value),
        }
    }

    /// The forms a `=VERSION` may take for a kind, before its source is known (a job takes an
    /// image tag or a commit, a helm chart a chart version or a commit).
    pub fn for_kind(kind: ServiceKind) -> &'static [VersionForm] {
        match kind {
            ServiceKind::Application | ServiceKind::Terraform => &[VersionForm::Commit],
            ServiceKind::Container => &[VersionForm::ImageTag],
            ServiceKind::Job => &[VersionForm::ImageTag, VersionForm::Commit],
            ServiceKind::Helm => &[VersionForm::ChartVersion, VersionForm::Commit],
            ServiceKind::Database => &[],
        }
    }
}

fn is_commit(value: &str) -> bool {
    (matches!(value.len(), 7..=40) || value.len() == 64)
        && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_image_tag(value: &str) -> bool {
    value.len() <= 128
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// SemVer 2.0.0 (semver.org, "Backus–Naur Form Grammar"), with Helm's tolerance of a leading `v`.
fn is_chart_version(value: &str) -> bool {
    let value = value.strip_prefix('v').unwrap_or(value);
    let (rest, build) = match value.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (value, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let numeric = |part: &str| {
        !part.is_empty()
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part == "0" || !part.starts_with('0'))
    };
    let identifier = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let core: Vec<&str> = core.split('.').collect();
    core.len() == 3
        && core.iter().all(|p| numeric(p))
        && pre.is_none_or(|pre| {
            pre.split('.')
                .all(|p| identifier(p) && (!p.bytes().all(|b| b.is_ascii_digit()) || numeric(p)))
        })
        && build.is_none_or(|build| build.split('.').all(identifier))
}

/// The first of `forms` that `value` fits, or the rules it breaks, joined for a message.
pub fn check(forms: &[VersionForm], value: &str) -> Result<VersionForm, String> {
    forms
        .iter()
        .copied()
        .find(|f| f.fits(value))
        .ok_or_else(|| {
            forms
                .iter()
                .map(|f| f.rule())
                .collect::<Vec<_>>()
                .join(", nor ")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits() {
        for ok in ["3f8a1c2", "3F8A1C2E9B7D", &"a".repeat(40), &"0".repeat(64)] {
            assert!(is_commit(ok), "{ok}");
        }
        for bad in [
            "",
            "=x",
            "x",
            "3f8a1c",
            "main",
            "3f8a1c2z",
            &"a".repeat(41),
            "v1.2.3",
        ] {
            assert!(!is_commit(bad), "{bad}");
        }
    }

    #[test]
    fn image_tags() {
        for ok in [
            "1.4.2",
            "latest",
            "v1",
            "_x",
            "sha-3f8a1c2",
            &"a".repeat(128),
        ] {
            assert!(is_image_tag(ok), "{ok}");
        }
        for bad in [
            "",
            "=x",
            ".x",
            "-x",
            "a/b",
            "a:b",
            "a b",
            &"a".repeat(129),
            "é",
        ] {
            assert!(!is_image_tag(bad), "{bad}");
        }
    }

    #[test]
    fn chart_versions() {
        for ok in [
            "1.2.3",
            "v4.11.1",
            "0.0.0",
            "1.0.0-rc.1",
            "1.0.0-alpha-1+build.5",
            "10.20.30",
        ] {
            assert!(is_chart_version(ok), "{ok}");
        }
        for bad in [
            "", "=x", "1.2", "1", "01.2.3", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3.4", "latest",
        ] {
            assert!(!is_chart_version(bad), "{bad}");
        }
    }

    #[test]
    fn the_error_says_which_rules() {
        assert_eq!(
            check(VersionForm::for_kind(ServiceKind::Application), "=x").unwrap_err(),
            VersionForm::Commit.rule()
        );
        let job = check(VersionForm::for_kind(ServiceKind::Job), "=x").unwrap_err();
        assert!(
            job.contains("image tag") && job.contains("commit SHA"),
            "{job}"
        );
        assert_eq!(
            check(VersionForm::for_kind(ServiceKind::Job), "1.4.2"),
            Ok(VersionForm::ImageTag)
        );
    }
}
