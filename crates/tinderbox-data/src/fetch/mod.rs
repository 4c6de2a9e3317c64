//! Fetching pinned packages with the registries' ordinary clients, into a locked cache.

pub mod archive;
mod cache;
mod clients;
mod package;

pub use cache::{CACHE_ENV, Cache, CacheLock, write_atomic};
pub use clients::{Clients, Registry};
pub use package::{PackageSource, sha256_file, verify_sha256};
