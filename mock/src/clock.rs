//! Mapping the monotonic clock the state machine runs on to RFC 3339 wall-clock dates.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Pairs a monotonic instant with the wall-clock time it was taken at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    epoch: Instant,
    wall: SystemTime,
}

impl Clock {
    pub(crate) fn new(epoch: Instant, wall: SystemTime) -> Self {
        Clock { epoch, wall }
    }

    /// The monotonic instant the clock was started at (server start or reset).
    pub(crate) fn epoch(&self) -> Instant {
        self.epoch
    }

    /// RFC 3339 date of a monotonic instant.
    pub(crate) fn date(&self, at: Instant) -> String {
        match at.checked_duration_since(self.epoch) {
            Some(after) => rfc3339(self.wall + after),
            None => self.date_before_epoch(self.epoch.duration_since(at)),
        }
    }

    /// RFC 3339 date `before` the epoch.
    pub(crate) fn date_before_epoch(&self, before: Duration) -> String {
        rfc3339(self.wall.checked_sub(before).unwrap_or(UNIX_EPOCH))
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (year, month, day) = civil_from_days(secs / 86_400);
    let second_of_day = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60,
        since_epoch.subsec_millis()
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_millis(951_782_400_123); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.123Z");
        let later = UNIX_EPOCH + Duration::from_secs(1_767_225_599); // 2025-12-31T23:59:59Z
        assert_eq!(rfc3339(later), "2025-12-31T23:59:59.000Z");
    }

    #[test]
    fn dates_follow_the_monotonic_clock() {
        let epoch = Instant::now();
        let clock = Clock::new(epoch, UNIX_EPOCH + Duration::from_secs(60));
        assert_eq!(
            clock.date(epoch + Duration::from_millis(1500)),
            "1970-01-01T00:01:01.500Z"
        );
        assert_eq!(
            clock.date_before_epoch(Duration::from_secs(60)),
            "1970-01-01T00:00:00.000Z"
        );
    }
}
