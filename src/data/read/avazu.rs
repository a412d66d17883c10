//! Avazu (Kaggle CSV): `id` is dropped, `click` is the label, and `hour` (YYMMDDHH) becomes
//! hour-of-day and weekday fields; every other column is categorical.

use super::*;
use crate::spec::formats::AVAZU_FIELDS;

const HEADER: [&str; 24] = [
    "id",
    "click",
    "hour",
    "C1",
    "banner_pos",
    "site_id",
    "site_domain",
    "site_category",
    "app_id",
    "app_domain",
    "app_category",
    "device_id",
    "device_ip",
    "device_model",
    "device_type",
    "device_conn_type",
    "C14",
    "C15",
    "C16",
    "C17",
    "C18",
    "C19",
    "C20",
    "C21",
];

const WEEKDAYS: [&[u8]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];

/// The Avazu reader.
pub struct Avazu {
    fields: Vec<FieldDef>,
    may_lack_label: bool,
    /// Rows without `click` (Kaggle's test file), for scoring.
    unlabelled: bool,
}

impl Default for Avazu {
    fn default() -> Self {
        Avazu {
            fields: AVAZU_FIELDS
                .iter()
                .map(|n| FieldDef::new(*n, FieldKind::Categorical))
                .collect(),
            may_lack_label: false,
            unlabelled: false,
        }
    }
}

/// Day of the week (0 = Monday) of a Gregorian date.
pub fn weekday(year: i64, month: i64, day: i64) -> usize {
    // Days since 1970-01-01 (a Thursday), by the civil-from-days inverse.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days + 3).rem_euclid(7) as usize
}

impl Reader for Avazu {
    fn start_file(&mut self, first: &[u8]) -> Result<bool, String> {
        let got: Vec<&[u8]> = first.split(|&b| b == b',').map(trim).collect();
        let unlabelled: Vec<&str> = HEADER.iter().copied().filter(|h| *h != "click").collect();
        let matches = |names: &[&str]| {
            got.len() == names.len() && got.iter().zip(names).all(|(g, e)| *g == e.as_bytes())
        };
        if matches(&HEADER) {
            self.unlabelled = false;
            Ok(true)
        } else if self.may_lack_label && matches(&unlabelled) {
            self.unlabelled = true;
            Ok(true)
        } else {
            Err(format!(
                "expected the Avazu header `{}`, found `{}`",
                HEADER.join(","),
                show(first)
            ))
        }
    }

    fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    fn allow_unlabelled(&mut self) {
        self.may_lack_label = true;
    }

    fn labelled(&self) -> bool {
        !self.unlabelled
    }

    fn parse<'l>(&self, line: &'l [u8], cells: &mut Vec<Cell<'l>>) -> Result<u8, String> {
        cells.clear();
        let mut cols = line.split(|&b| b == b',');
        let expected = HEADER.len() - usize::from(self.unlabelled);
        let _id = cols.next();
        let lab = if self.unlabelled {
            0
        } else {
            label(cols.next().ok_or("expected 24 columns, found 1")?)?
        };
        let hour = cols
            .next()
            .ok_or_else(|| format!("expected {expected} columns, found {}", expected - 22))?;
        let digits = |r: std::ops::Range<usize>| -> Option<i64> {
            std::str::from_utf8(&hour[r]).ok()?.parse().ok()
        };
        let bad = || format!("hour `{}` is not YYMMDDHH", show(hour));
        if hour.len() != 8 || !hour.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        let (yy, mm, dd, hh) = (digits(0..2), digits(2..4), digits(4..6), digits(6..8));
        let (Some(yy), Some(mm), Some(dd), Some(hh)) = (yy, mm, dd, hh) else {
            return Err(bad());
        };
        if !(1..=12).contains(&mm) || !(1..=31).contains(&dd) || hh > 23 {
            return Err(bad());
        }
        cells.push(Cell::Cat(&hour[6..8]));
        cells.push(Cell::Cat(WEEKDAYS[weekday(2000 + yy, mm, dd)]));
        for raw in cols {
            cells.push(if raw.is_empty() {
                Cell::Missing
            } else {
                Cell::Cat(raw)
            });
        }
        if cells.len() != AVAZU_FIELDS.len() {
            return Err(format!(
                "expected {expected} columns, found {}",
                cells.len() + expected - AVAZU_FIELDS.len()
            ));
        }
        Ok(lab)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn weekdays() {
        assert_eq!(super::weekday(2014, 10, 21), 1); // a Tuesday
        assert_eq!(super::weekday(1970, 1, 1), 3); // a Thursday
        assert_eq!(super::weekday(2000, 2, 29), 1);
        assert_eq!(super::weekday(2026, 11, 28), 5); // a Saturday
    }
}
