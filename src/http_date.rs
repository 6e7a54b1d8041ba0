//! HTTP dates (RFC 9110 §5.6.7), as `Retry-After` may carry them.

use crate::prelude::*;

/// Seconds since the Unix epoch for an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), or one of
/// the obsolete forms recipients must still accept: RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`)
/// and asctime (`Sun Nov  6 08:49:37 1994`).
pub fn parse_http_date(text: &str) -> Option<u64> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let (day, month, year, time) = match fields.as_slice() {
        [_, day, month, year, time, "GMT"] => (*day, *month, year.parse().ok()?, *time),
        [_, date, time, "GMT"] => {
            let mut parts = date.split('-');
            let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
            let year: u64 = year.parse().ok()?;
            // Two-digit years: the nearest century that does not put the date far in the future.
            let year = if year < 100 {
                if year < 70 { 2000 + year } else { 1900 + year }
            } else {
                year
            };
            (day, month, year, *time)
        }
        [_, month, day, time, year] => (*day, *month, year.parse().ok()?, *time),
        _ => return None,
    };
    let day: u64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let month = month_number(month)?;
    let mut clock = time.split(':').map(|part| part.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    // Years have four digits in every form (RFC 850's two are widened above); a longer one would
    // overflow the count of seconds.
    let year_fits = (1970..=9999).contains(&year);
    if clock.next().is_some() || hour > 23 || minute > 59 || second > 60 || !year_fits {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

fn month_number(name: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS
        .iter()
        .position(|month| *month == name)
        .map(|index| index as u64 + 1)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), for years
/// 1970 to 9999.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_formats_of_one_instant_agree() {
        let expected = Some(784_111_777);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), expected);
    }

    #[test]
    fn leap_days_and_recent_dates() {
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"),
            Some(951_782_400)
        );
        assert_eq!(
            parse_http_date("Sat, 28 Nov 2026 14:34:56 GMT"),
            Some(1_795_876_496)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    }

    #[test]
    fn every_field_is_accepted_up_to_its_bound_and_rejected_past_it() {
        let at = |day: &str, year: &str, time: &str| {
            parse_http_date(&format!("Sun, {day} Dec {year} {time} GMT"))
        };
        assert_eq!(at("01", "1970", "00:00:00"), Some(28_857_600));
        assert_eq!(at("31", "1970", "23:59:60"), Some(31_536_000));
        assert_eq!(at("31", "9999", "23:59:59"), Some(253_402_300_799));
        for (day, year, time) in [
            ("00", "1970", "00:00:00"),
            ("32", "1970", "00:00:00"),
            ("01", "1969", "00:00:00"),
            ("01", "10000", "00:00:00"),
            ("01", "1970", "24:00:00"),
            ("01", "1970", "00:60:00"),
            ("01", "1970", "00:00:61"),
            ("01", "1970", "00:00:00:00"),
        ] {
            assert_eq!(at(day, year, time), None, "{day} {year} {time}");
        }
    }

    #[test]
    fn a_huge_year_is_rejected_rather_than_overflowing() {
        // Found by fuzzing Retry-After: the seconds of such a year overflowed a u64.
        for text in [
            "Sun, 06 Nov 99999999999999 08:49:37 GMT",
            "Sunday, 06-Nov-99999999999999 08:49:37 GMT",
            "Sun Nov  6 08:49:37 99999999999999",
        ] {
            assert_eq!(parse_http_date(text), None, "{text:?}");
        }
    }

    #[test]
    fn two_digit_years_pick_the_century_from_70() {
        let rfc_850 =
            |year: &str| parse_http_date(&format!("Thursday, 01-Jan-{year} 00:00:00 GMT"));
        assert_eq!(rfc_850("70"), Some(0));
        assert_eq!(rfc_850("69"), Some(3_124_224_000));
        assert_eq!(rfc_850("99"), Some(915_148_800));
        // Three digits are not a two-digit year, and before 1970.
        assert_eq!(rfc_850("100"), None);
    }

    #[test]
    fn malformed_dates_are_rejected() {
        for text in [
            "",
            "120",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1960 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(text), None, "{text:?}");
        }
    }
}
