//! The VM's clocks. In virtual-time mode (`covm --virtual-time`) time only
//! moves when a program sleeps: sleeping advances the clock at once, so an
//! async program that sleeps an hour finishes in milliseconds and reads the
//! same times it would have read for real.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct Clock {
    virtual_mode: bool,
    start: Instant,
    wall_at_start: f64,
    /// Seconds of virtual time elapsed since start.
    virtual_elapsed: f64,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            virtual_mode: false,
            start: Instant::now(),
            wall_at_start: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            virtual_elapsed: 0.0,
        }
    }

    pub fn set_virtual(&mut self, on: bool) {
        self.virtual_mode = on;
    }

    pub fn is_virtual(&self) -> bool {
        self.virtual_mode
    }

    /// Seconds since the VM started (virtual in virtual-time mode).
    pub fn elapsed(&self) -> f64 {
        if self.virtual_mode {
            self.virtual_elapsed
        } else {
            self.start.elapsed().as_secs_f64()
        }
    }

    /// `time.monotonic()` and `time.perf_counter()`: seconds from an
    /// arbitrary origin.
    pub fn monotonic(&self) -> f64 {
        // An origin away from zero, like a real machine's uptime.
        1000.0 + self.elapsed()
    }

    /// `time.time()`: seconds since the Unix epoch.
    pub fn wall(&self) -> f64 {
        self.wall_at_start + self.elapsed()
    }

    /// Sleeps for `secs`: really, or by moving virtual time forward.
    pub fn sleep(&mut self, secs: f64) {
        if secs.is_nan() || secs <= 0.0 {
            return;
        }
        if self.virtual_mode {
            self.virtual_elapsed += secs;
        } else {
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(1e9)));
        }
    }

    /// Moves virtual time forward to `deadline` (a `monotonic()` value);
    /// in real mode waits until then.
    pub fn sleep_until(&mut self, deadline: f64) {
        let now = self.monotonic();
        if deadline > now {
            self.sleep(deadline - now);
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
