//! svkit: daemontools-style process supervision. The binaries in src/bin
//! are thin shells over these modules; ../man has what each one promises.
//!
//! The library is `no_std` (core, alloc and rustix through `sys`):
//! the std runtime would cost an idle supervise more memory than all of
//! daemontools' supervise, and every svc call a start-up of its own
//! (README.md's "Why no_std" has the figures, dated).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod account;
pub mod args;
pub mod batch;
pub mod boot;
pub mod chpst;
pub mod control;
pub mod die;
pub mod envdir;
pub mod error;
pub mod exec;
pub mod foreground;
pub mod instances;
pub mod limits;
pub mod lock;
pub mod logsink;
pub mod metrics;
pub mod procfs;
pub mod proctitle;
pub mod report;
pub mod request;
pub mod scanner;
pub mod servicedir;
pub mod status;
pub mod supervisor;
pub mod sv;
pub mod sys;
pub mod tai64;
pub mod tai64n;
pub mod tai64nlocal;
pub mod wait;

/// Declares a binary's entry point, panic handler and allocator, then
/// runs `$run(args) -> i32` and exits with its result. `--help` or
/// `--version` as the first argument prints `$help` (usage, one line per
/// option, the man page) or the version on stdout and exits 0 instead.
///
/// `svkit::main!(origin: PROG, HELP, run)` starts the program through
/// origin, for the programs build.rs links without the C library; without
/// `origin:` the C library's start-up calls `main`.
#[macro_export]
macro_rules! main {
    (origin: $prog:expr, $help:expr, $run:path) => {
        #[cfg(not(test))]
        extern crate origin;

        #[cfg(not(test))]
        #[unsafe(no_mangle)]
        unsafe fn origin_main(argc: usize, argv: *mut *mut u8, envp: *mut *mut u8) -> i32 {
            // SAFETY: origin hands over the kernel's argc, argv and envp.
            unsafe { start(argc as core::ffi::c_int, argv.cast(), envp) }
        }

        #[cfg(not(test))]
        #[global_allocator]
        static ALLOC: $crate::sys::Malloc = $crate::sys::Malloc;

        $crate::main!(@common $prog, $help, $run);
    };
    ($prog:expr, $help:expr, $run:path) => {
        #[cfg(not(test))]
        #[unsafe(no_mangle)]
        extern "C" fn main(
            argc: core::ffi::c_int,
            argv: *const *const core::ffi::c_char,
            envp: *mut *mut u8,
        ) -> core::ffi::c_int {
            // SAFETY: the C runtime hands main the kernel's argc, argv and
            // envp.
            unsafe { start(argc, argv, envp) }
        }

        // The prebuilt alloc crate was compiled to unwind and refers to
        // this; svkit's binaries abort on panic, so nothing ever unwinds,
        // and linking libgcc_s for a symbol never called would cost every
        // process its pages. (origin has its own.)
        #[cfg(not(test))]
        #[unsafe(no_mangle)]
        extern "C" fn _Unwind_Resume() -> ! {
            $crate::sys::exit($crate::error::EXIT_TEMPORARY)
        }

        #[cfg(not(test))]
        #[global_allocator]
        static ALLOC: $crate::sys::heap::CMalloc = $crate::sys::heap::CMalloc;

        $crate::main!(@common $prog, $help, $run);
    };
    (@common $prog:expr, $help:expr, $run:path) => {
        // A unit-test build has no entry point of ours; this keeps `run` and
        // what it calls from being reported as dead code there.
        #[cfg(test)]
        const _: () = {
            let _ = $run;
            let _ = $prog;
            let _ = $help;
        };

        #[cfg(not(test))]
        #[panic_handler]
        fn panic(info: &core::panic::PanicInfo) -> ! {
            $crate::die::panicked($prog, info)
        }

        // Stable Rust lets no crate provide the personality routine (origin's
        // and unwinding's need nightly); nothing unwinds, so it is never
        // called.
        #[cfg(not(test))]
        #[unsafe(no_mangle)]
        extern "C" fn rust_eh_personality() {}

        /// # Safety
        /// The arguments must be the ones the kernel gave the process.
        #[cfg(not(test))]
        unsafe fn start(
            argc: core::ffi::c_int,
            argv: *const *const core::ffi::c_char,
            envp: *mut *mut u8,
        ) -> ! {
            // SAFETY: the caller's promise.
            let args = unsafe {
                $crate::sys::init(envp);
                $crate::args::from_raw(argc, argv)
            };
            if let Some(code) = $crate::die::help_or_version($prog, $help, &args) {
                $crate::sys::exit(code)
            }
            $crate::sys::exit($run(args))
        }
    };
}
