//! Extra TLS trust roots from `SSL_CERT_FILE` and `SSL_CERT_DIR`, added to the embedded ones.
//!
//! The binary embeds Mozilla's roots (`webpki-root-certs`) and reads no system store, so that it
//! runs in an empty image. Behind a TLS-intercepting proxy, or with a self-hosted API signed by a
//! private CA, that CA must be trusted too: these two variables, under the names OpenSSL and most
//! tools read, add it.
//!
//! - `SSL_CERT_FILE`: one file of PEM certificates (a CA bundle).
//! - `SSL_CERT_DIR`: directories (separated by `:`, as OpenSSL reads them) whose files hold PEM
//!   certificates; files without a certificate are skipped.
//!
//! A variable that is set but cannot be read, or yields no usable certificate, is bad input: the
//! user set it to trust a CA, and going on without it would only fail later, less clearly.

use std::path::Path;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::{InputError, Invocation};

/// Certificates to trust besides the embedded roots, and where they came from (for messages).
#[derive(Debug, Clone, Default)]
pub struct ExtraRoots {
    pub certificates: Vec<CertificateDer<'static>>,
    /// `SSL_CERT_FILE=/path (2 certificates)`, …; empty when none were given.
    pub sources: Vec<String>,
}

impl ExtraRoots {
    /// Reads `SSL_CERT_FILE` and `SSL_CERT_DIR` (unset or empty: nothing).
    ///
    /// Errors: an unreadable file or directory, a file without certificates, a certificate that
    /// cannot be a trust anchor; each names the variable and the file.
    pub fn read(invocation: &Invocation) -> Result<ExtraRoots, InputError> {
        let mut roots = ExtraRoots::default();
        if let Some(file) = invocation.var("SSL_CERT_FILE") {
            let found = certificates_in("SSL_CERT_FILE", Path::new(file))?;
            if found.is_empty() {
                return Err(InputError::new(
                    "SSL_CERT_FILE",
                    format!("{file} holds no PEM certificate"),
                )
                .hint(HINT));
            }
            roots.sources.push(format!(
                "SSL_CERT_FILE={file} ({} certificate(s))",
                found.len()
            ));
            roots.certificates.extend(found);
        }
        if let Some(dirs) = invocation.var("SSL_CERT_DIR") {
            let mut found = Vec::new();
            for dir in dirs.split(':').filter(|d| !d.is_empty()) {
                found.extend(certificates_in_dir(Path::new(dir))?);
            }
            if found.is_empty() {
                return Err(InputError::new(
                    "SSL_CERT_DIR",
                    format!("no file in {dirs} holds a PEM certificate"),
                )
                .hint(HINT));
            }
            roots.sources.push(format!(
                "SSL_CERT_DIR={dirs} ({} certificate(s))",
                found.len()
            ));
            roots.certificates.extend(found);
        }
        Ok(roots)
    }
}

const HINT: &str = "point SSL_CERT_FILE at a PEM file holding your CA's certificate (-----BEGIN CERTIFICATE-----), or SSL_CERT_DIR at a directory of such files; unset them to use the embedded roots only";

/// The certificates of one PEM file, each checked to be usable as a trust anchor.
fn certificates_in(
    variable: &str,
    file: &Path,
) -> Result<Vec<CertificateDer<'static>>, InputError> {
    let shown = file.display();
    let bytes = std::fs::read(file)
        .map_err(|e| InputError::new(variable, format!("cannot read {shown}: {e}")).hint(HINT))?;
    let mut certificates = Vec::new();
    for (i, certificate) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
        let certificate = certificate.map_err(|e| {
            InputError::new(variable, format!("{shown} is not valid PEM: {e}")).hint(HINT)
        })?;
        rustls::RootCertStore::empty()
            .add(certificate.clone())
            .map_err(|e| {
                InputError::new(
                    variable,
                    format!(
                        "certificate {} in {shown} cannot be a trust anchor: {e}",
                        i + 1
                    ),
                )
                .hint(HINT)
            })?;
        certificates.push(certificate);
    }
    Ok(certificates)
}

/// The certificates of every regular file of `dir` (in name order); files that are not PEM
/// certificates are skipped, as OpenSSL skips them.
fn certificates_in_dir(dir: &Path) -> Result<Vec<CertificateDer<'static>>, InputError> {
    let unreadable = |e: std::io::Error| {
        InputError::new(
            "SSL_CERT_DIR",
            format!("cannot read {}: {e}", dir.display()),
        )
        .hint(HINT)
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    Ok(files
        .iter()
        .filter_map(|file| certificates_in("SSL_CERT_DIR", file).ok())
        .flatten()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls")
    }

    fn invocation(vars: &[(&str, String)]) -> Invocation {
        Invocation {
            env: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            args: Vec::new(),
        }
    }

    #[test]
    fn a_ca_file_and_a_directory_add_roots() {
        let ca = fixtures().join("ca.pem").display().to_string();
        let roots = ExtraRoots::read(&invocation(&[("SSL_CERT_FILE", ca.clone())])).unwrap();
        assert_eq!(roots.certificates.len(), 1);
        assert!(roots.sources[0].starts_with("SSL_CERT_FILE="));
        let dir = fixtures().display().to_string();
        // The directory also holds the server's key and a README: skipped.
        let roots = ExtraRoots::read(&invocation(&[(
            "SSL_CERT_DIR",
            format!("/nonexistent-is-not-ok:{dir}"),
        )]));
        assert_eq!(roots.unwrap_err().input, "SSL_CERT_DIR");
        let roots = ExtraRoots::read(&invocation(&[("SSL_CERT_DIR", dir)])).unwrap();
        assert_eq!(roots.certificates.len(), 2, "ca.pem and server.pem");
        assert!(
            ExtraRoots::read(&Invocation::default())
                .unwrap()
                .certificates
                .is_empty()
        );
    }

    #[test]
    fn unusable_files_are_bad_input_naming_the_variable() {
        let missing = invocation(&[("SSL_CERT_FILE", "/nonexistent/ca.pem".into())]);
        let err = ExtraRoots::read(&missing).unwrap_err();
        assert_eq!(err.input, "SSL_CERT_FILE");
        assert!(
            err.problem.contains("cannot read /nonexistent/ca.pem"),
            "{err}"
        );
        let key = fixtures().join("server.key.pem").display().to_string();
        let err = ExtraRoots::read(&invocation(&[("SSL_CERT_FILE", key)])).unwrap_err();
        assert!(err.problem.contains("holds no PEM certificate"), "{err}");
        let readme = fixtures().join("README.md").display().to_string();
        assert!(ExtraRoots::read(&invocation(&[("SSL_CERT_FILE", readme)])).is_err());
    }
}
