//! The package registries' ordinary clients (`pip`, `npm`, `apt-get`), run as child processes.

use std::path::Path;
use std::process::Command;

/// A package registry reachable through its ordinary command-line client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    /// PyPI, through `pip download --no-deps`.
    Pip,
    /// The npm registry, through `npm pack`.
    Npm,
    /// Debian's archive, through `apt-get download` (needs no root).
    Apt,
}

impl Registry {
    /// The client's name, as a user would install it.
    pub fn client(self) -> &'static str {
        match self {
            Registry::Pip => "pip",
            Registry::Npm => "npm",
            Registry::Apt => "apt-get",
        }
    }

    pub(crate) fn install_hint(self) -> &'static str {
        match self {
            Registry::Pip => {
                "pip (`python3 -m ensurepip --user` or `apt-get install python3-pip`), or set TINDERBOX_PIP"
            }
            Registry::Npm => "Node.js with npm (`apt-get install npm`), or set TINDERBOX_NPM",
            Registry::Apt => "a Debian or Ubuntu system with apt-get, or set TINDERBOX_APT_GET",
        }
    }

    /// The arguments that download `spec` into the current directory (or `dest`).
    pub(crate) fn download_args(self, spec: &str, dest: &Path) -> Vec<String> {
        let dest = dest.display().to_string();
        match self {
            Registry::Pip => [
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "--quiet",
                "--dest",
                &dest,
                spec,
            ]
            .map(String::from)
            .to_vec(),
            Registry::Npm => ["pack", spec, "--silent", "--pack-destination", &dest]
                .map(String::from)
                .to_vec(),
            Registry::Apt => ["download", spec].map(String::from).to_vec(),
        }
    }
}

/// The command lines tried, in order, for each registry's client.
///
/// By default: `python3 -m pip`, `pip3`, `pip` for PyPI; `npm`; `apt-get`. The environment
/// variables `TINDERBOX_PIP`, `TINDERBOX_NPM` and `TINDERBOX_APT_GET` (a command line, split on
/// spaces) replace the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clients {
    /// Candidate command lines for `pip`.
    pub pip: Vec<Vec<String>>,
    /// Candidate command lines for `npm`.
    pub npm: Vec<Vec<String>>,
    /// Candidate command lines for `apt-get`.
    pub apt: Vec<Vec<String>>,
}

impl Clients {
    /// The defaults, overridden by `TINDERBOX_PIP`, `TINDERBOX_NPM` and `TINDERBOX_APT_GET`.
    pub fn from_env() -> Self {
        let pick = |var: &str, defaults: &[&str]| -> Vec<Vec<String>> {
            match std::env::var(var) {
                Ok(cmd) if !cmd.trim().is_empty() => vec![split(&cmd)],
                _ => defaults.iter().map(|c| split(c)).collect(),
            }
        };
        Self {
            pip: pick("TINDERBOX_PIP", &["python3 -m pip", "pip3", "pip"]),
            npm: pick("TINDERBOX_NPM", &["npm"]),
            apt: pick("TINDERBOX_APT_GET", &["apt-get"]),
        }
    }

    /// The candidates for `registry`.
    pub fn for_registry(&self, registry: Registry) -> &[Vec<String>] {
        match registry {
            Registry::Pip => &self.pip,
            Registry::Npm => &self.npm,
            Registry::Apt => &self.apt,
        }
    }
}

fn split(cmd: &str) -> Vec<String> {
    cmd.split_whitespace().map(String::from).collect()
}

/// How one attempt to run a client ended.
pub(crate) enum Attempt {
    /// The program is not installed (or, for `python3 -m pip`, the module is missing).
    Missing,
    /// It ran and exited with this status and stderr.
    Ran {
        success: bool,
        status: String,
        stderr: String,
    },
}

pub(crate) fn run(cmdline: &[String], args: &[String], cwd: &Path) -> Attempt {
    let Some((program, prefix)) = cmdline.split_first() else {
        return Attempt::Missing;
    };
    let output = Command::new(program)
        .args(prefix)
        .args(args)
        .current_dir(cwd)
        .env("PIP_NO_INPUT", "1")
        .output();
    match output {
        Err(_) => Attempt::Missing,
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            if !out.status.success() && stderr.contains("No module named pip") {
                return Attempt::Missing;
            }
            Attempt::Ran {
                success: out.status.success(),
                status: out.status.to_string(),
                stderr: tail(&stderr, 1500),
            }
        }
    }
}

fn tail(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("...{}", &s[start..])
}
