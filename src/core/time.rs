//! Dates as lava-deploy writes them.

/// `YYYYMMDD` (UTC) of a Unix time.
pub fn date_yyyymmdd(unix_seconds: i64) -> String {
    let (year, month, day) = civil(unix_seconds.div_euclid(86_400));
    format!("{year:04}{month:02}{day:02}")
}

/// `YYYYMMDDHHMMSSZ` (UTC) of a Unix time: the form OpenSSH's
/// `ssh-keygen -Overify-time=` takes.
pub fn compact_utc(unix_seconds: i64) -> String {
    let (y, mo, d, h, mi, s) = utc_fields(unix_seconds);
    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z")
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time (a git commit's time, say).
pub fn rfc3339_of_unix(unix_seconds: i64) -> String {
    let (y, mo, d, h, mi, s) = utc_fields(unix_seconds);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

fn utc_fields(unix_seconds: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (year, month, day) = civil(unix_seconds.div_euclid(86_400));
    let second = unix_seconds.rem_euclid(86_400);
    (
        year,
        month,
        day,
        second / 3600,
        second % 3600 / 60,
        second % 60,
    )
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's
/// civil-from-days).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A point in time as RFC 3339 UTC seconds.
pub fn rfc3339(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_yyyymmdd(0), "19700101");
        assert_eq!(date_yyyymmdd(1_343_148_875), "20120724");
        assert_eq!(date_yyyymmdd(951_782_400), "20000229");
        assert_eq!(compact_utc(1_343_131_200), "20120724120000Z");
        assert_eq!(compact_utc(1_343_148_875), "20120724165435Z");
        assert_eq!(rfc3339_of_unix(1_343_131_200), "2012-07-24T12:00:00Z");
    }
}
