//! CSV rows of indicators to STIX 2.1 indicators, one row at a time.
//!
//! [`Indicators`] is an iterator: it reads a row, yields its indicator (or
//! the row's error) and forgets it, so a file of a million rows needs memory
//! for one row, whatever its size.
//!
//! # Columns
//!
//! By default the first row names the columns; names are matched
//! case-insensitively, surrounding spaces and `_`/`-`/space differences
//! ignored (`First Seen` is `first_seen`):
//!
//! | field | header names | becomes |
//! |---|---|---|
//! | value (required) | `value`, `indicator`, `ioc`, `observable`, `ioc_value` | the pattern |
//! | type | `type`, `kind`, `ioc_type`, `indicator_type`, `value_type` | the kind of the value (detected when absent or empty) |
//! | comment | `comment`, `description`, `note`, `notes` | `description` |
//! | tlp | `tlp`, `marking`, `tlp_level` | `object_marking_refs` (TLP 2.0) |
//! | first_seen | `first_seen`, `valid_from`, `first_seen_at` | `valid_from` (default: the import time) |
//! | last_seen | `last_seen`, `valid_until`, `expires`, `last_seen_at` | `valid_until` |
//! | labels | `labels`, `tags` | `labels` (split on `;` and `,`) |
//! | name | `name`, `title` | `name` |
//! | confidence | `confidence` | `confidence` (0 to 100) |
//!
//! Other columns are ignored. [`ColumnSpec::parse`] reads an explicit
//! mapping instead (`value=2,type=1`: 1-based positions, or header names:
//! `value=ioc,type=kind`); with positions only, the file has no header row
//! unless its first row holds the field names themselves in the mapped
//! columns (`type,value` under `type=1,value=2`).
//!
//! # Values
//!
//! Each value is refanged ([`crate::refang()`]), its kind taken from the type
//! column or detected ([`crate::Kind`]), checked and normalised for that kind
//! (domains, e-mail addresses and hashes lowercased, IPv6 in RFC 5952 form).
//! A row that cannot become an indicator is an error naming its line; the
//! other rows are unaffected.
//!
//! # Input
//!
//! UTF-8, with or without a byte order mark; `,` separated (another
//! delimiter can be given); LF or CRLF line ends; RFC 4180 quoting (quoted
//! fields may hold delimiters, quotes doubled, line breaks). Lines starting
//! with `#` are comments, as in most published IOC feeds. Empty lines are
//! skipped. Rows may have fewer cells than the header.
//!
//! Fields are split by `csv-core` (RFC 4180, as the `csv` crate does);
//! blank lines and comments are skipped here, before a record starts, so
//! that every row knows the line it starts on even when quoted fields span
//! lines or the file ends lines with CRLF.
//!
//! # Identifiers
//!
//! An indicator's id is a UUIDv5 of the caller's seed and its pattern, so the
//! same file imported again updates the same indicators (new versions, or
//! duplicates when nothing changed) instead of creating new ones; callers
//! choose the seed so that unrelated sources do not share ids.

use std::io::Read;

use stix::Timestamp;

use crate::detect::{self, Kind};
use crate::ids::{self, ENTENTE_NAMESPACE};
use crate::json::Obj;
use crate::{StixJson, time};

/// A field of an indicator a column can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Value,
    Type,
    Comment,
    Tlp,
    FirstSeen,
    LastSeen,
    Labels,
    Name,
    Confidence,
}

impl Field {
    const ALL: [Field; 9] = [
        Field::Value,
        Field::Type,
        Field::Comment,
        Field::Tlp,
        Field::FirstSeen,
        Field::LastSeen,
        Field::Labels,
        Field::Name,
        Field::Confidence,
    ];

    /// The field's own name, as `--column` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Field::Value => "value",
            Field::Type => "type",
            Field::Comment => "comment",
            Field::Tlp => "tlp",
            Field::FirstSeen => "first_seen",
            Field::LastSeen => "last_seen",
            Field::Labels => "labels",
            Field::Name => "name",
            Field::Confidence => "confidence",
        }
    }

    /// Header names that mean this field, in folded form (see [`fold`]).
    fn header_names(self) -> &'static [&'static str] {
        match self {
            Field::Value => &["value", "indicator", "ioc", "observable", "iocvalue"],
            Field::Type => &["type", "kind", "ioctype", "indicatortype", "valuetype"],
            Field::Comment => &["comment", "description", "note", "notes"],
            Field::Tlp => &["tlp", "marking", "tlplevel"],
            Field::FirstSeen => &["firstseen", "validfrom", "firstseenat"],
            Field::LastSeen => &["lastseen", "validuntil", "expires", "lastseenat"],
            Field::Labels => &["labels", "tags"],
            Field::Name => &["name", "title"],
            Field::Confidence => &["confidence"],
        }
    }

    fn from_header(name: &str) -> Option<Field> {
        let folded = fold(name);
        Field::ALL
            .into_iter()
            .find(|f| f.header_names().contains(&folded.as_str()))
    }
}

/// A header name compared loosely: lowercase, without spaces, `_` and `-`.
fn fold(name: &str) -> String {
    name.trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where a field's column is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// 0-based position.
    Index(usize),
    /// A header name (matched like field names are).
    Header(String),
}

/// Which column holds which field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ColumnSpec {
    /// The first row names the columns.
    #[default]
    FromHeader,
    /// Given by the caller.
    Explicit(Vec<(Field, Column)>),
}

/// A `--column` value that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column mapping {spec:?}: {reason}")]
pub struct ColumnSpecError {
    pub spec: String,
    pub reason: String,
}

impl ColumnSpec {
    /// Reads `field=column[,field=column…]`; a column is a 1-based position
    /// or a header name. Several specs (repeated flags) can be joined with
    /// commas first.
    pub fn parse(spec: &str) -> Result<ColumnSpec, ColumnSpecError> {
        let fail = |reason: String| ColumnSpecError {
            spec: spec.to_string(),
            reason,
        };
        let mut mapping: Vec<(Field, Column)> = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, column) = part
                .split_once('=')
                .ok_or_else(|| fail(format!("{part:?} is not field=column (e.g. value=2)")))?;
            let field_name = fold(field);
            let field = Field::ALL
                .into_iter()
                .find(|f| fold(f.name()) == field_name)
                .ok_or_else(|| {
                    fail(format!(
                        "{field:?} is not a field; fields: {}",
                        Field::ALL.map(Field::name).join(", ")
                    ))
                })?;
            let column = column.trim();
            let column = if !column.is_empty() && column.bytes().all(|b| b.is_ascii_digit()) {
                match column.parse::<usize>() {
                    Ok(n) if n >= 1 => Column::Index(n - 1),
                    _ => return Err(fail(format!("columns are numbered from 1, not {column:?}"))),
                }
            } else if column.is_empty() {
                return Err(fail(format!("{part:?} names no column")));
            } else {
                Column::Header(column.to_string())
            };
            if mapping.iter().any(|(f, _)| *f == field) {
                return Err(fail(format!("{} is mapped twice", field.name())));
            }
            mapping.push((field, column));
        }
        if !mapping.iter().any(|(f, _)| *f == Field::Value) {
            return Err(fail("no value column (e.g. value=2)".into()));
        }
        Ok(ColumnSpec::Explicit(mapping))
    }
}

/// How to read a CSV file.
#[derive(Clone, Debug)]
pub struct CsvOptions {
    pub columns: ColumnSpec,
    /// `created`, `modified`, and `valid_from` when no first_seen is given.
    pub now: Timestamp,
    /// Mixed into every id (see the module documentation).
    pub id_seed: String,
    pub delimiter: u8,
}

impl CsvOptions {
    pub fn new(now: Timestamp, id_seed: impl Into<String>) -> CsvOptions {
        CsvOptions {
            columns: ColumnSpec::FromHeader,
            now,
            id_seed: id_seed.into(),
            delimiter: b',',
        }
    }
}

/// A file that cannot be read as rows of indicators at all.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("the file is empty")]
    Empty,
    #[error(
        "no value column: name it {names} in the first row, or map it with --column value=N",
        names = "`value`, `indicator` or `ioc`"
    )]
    NoValueColumn,
    #[error("column {name:?} (for {field}) is not in the first row: {header}")]
    MissingHeader {
        name: String,
        field: &'static str,
        header: String,
    },
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
}

/// A row that did not become an indicator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RowError {
    /// 1-based line where the row starts.
    pub line: u64,
    pub reason: String,
}

/// One indicator and the line of its row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub indicator: StixJson,
}

/// The indicators of a CSV file, row by row.
pub struct Indicators<R: Read> {
    records: Records<R>,
    columns: Vec<(Field, usize)>,
    options: CsvOptions,
    now: String,
    /// A first row that turned out to be data, not names.
    pending: bool,
    /// The current row; its buffers are reused row after row.
    record: Record,
    done: bool,
}

/// Starts reading `input`: reads the header row when there is one, and
/// fails only when the file cannot give indicators at all.
pub fn read<R: Read>(input: R, options: CsvOptions) -> Result<Indicators<R>, CsvError> {
    let mut records = Records::new(input, options.delimiter);
    let mut first = Record::default();
    if !records.next_record(&mut first)? {
        return Err(CsvError::Empty);
    }
    let header: Vec<String> = (0..first.len())
        .map(|i| String::from_utf8_lossy(first.get(i).unwrap_or_default()).into_owned())
        .collect();
    let find = |name: &str| {
        let folded = fold(name);
        header.iter().position(|h| fold(h) == folded)
    };
    let (columns, first_is_data) = match &options.columns {
        ColumnSpec::FromHeader => {
            let mut columns = Vec::new();
            for (i, name) in header.iter().enumerate() {
                if let Some(field) = Field::from_header(name)
                    && !columns.iter().any(|(f, _)| *f == field)
                {
                    columns.push((field, i));
                }
            }
            (columns, false)
        }
        ColumnSpec::Explicit(mapping) => {
            let mut columns = Vec::new();
            let mut by_name = false;
            for (field, column) in mapping {
                let index = match column {
                    Column::Index(i) => *i,
                    Column::Header(name) => {
                        by_name = true;
                        find(name).ok_or_else(|| CsvError::MissingHeader {
                            name: name.clone(),
                            field: field.name(),
                            header: header.join(","),
                        })?
                    }
                };
                columns.push((*field, index));
            }
            // Positions only: the first row is names only if it says so.
            let names_row = columns.iter().all(|(field, i)| {
                header
                    .get(*i)
                    .and_then(|h| Field::from_header(h))
                    .is_some_and(|f| f == *field)
            });
            (columns, !by_name && !names_row)
        }
    };
    if !columns.iter().any(|(f, _)| *f == Field::Value) {
        return Err(CsvError::NoValueColumn);
    }
    let now = time::stamp(options.now);
    Ok(Indicators {
        records,
        columns,
        now,
        options,
        pending: first_is_data,
        record: first,
        done: false,
    })
}

impl<R: Read> Indicators<R> {
    /// Bytes of input consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.records.bytes
    }

    fn cell<'r>(&self, record: &'r Record, field: Field) -> Result<Option<&'r str>, String> {
        let Some(&(_, i)) = self.columns.iter().find(|(f, _)| *f == field) else {
            return Ok(None);
        };
        match record.get(i) {
            None => Ok(None),
            Some(bytes) => std::str::from_utf8(bytes)
                .map(|s| Some(s.trim()).filter(|s| !s.is_empty()))
                .map_err(|e| {
                    format!(
                        "column {} ({}) is not UTF-8 (invalid byte at {})",
                        i + 1,
                        field.name(),
                        e.valid_up_to()
                    )
                }),
        }
    }

    fn convert(&self, record: &Record) -> Result<StixJson, String> {
        let raw = self.cell(record, Field::Value)?.ok_or_else(|| {
            let i = self
                .columns
                .iter()
                .find(|(f, _)| *f == Field::Value)
                .map_or(0, |c| c.1);
            format!("no value in column {}", i + 1)
        })?;
        let refanged = crate::refang(raw);
        let kind = match self.cell(record, Field::Type)? {
            Some(t) => Kind::from_type_name(t, &refanged).ok_or_else(|| {
                format!(
                    "type {t:?} is not one this import knows ({})",
                    Kind::TYPE_NAMES
                )
            })?,
            None => detect::detect(&refanged).ok_or_else(|| {
                format!(
                    "cannot tell what kind of indicator {raw:?} is; give it a type column ({})",
                    Kind::TYPE_NAMES
                )
            })?,
        };
        // Names of files are taken as written: `[.]` or `\.` in one is more
        // likely part of the name than defanging.
        let written = if kind == Kind::FileName {
            raw
        } else {
            &refanged
        };
        let value = detect::normalise(kind, written)?;
        let pattern = detect::pattern_for(kind, &value);

        let valid_from = match self.cell(record, Field::FirstSeen)? {
            Some(t) => Some(time::parse_lenient(t).map_err(|e| format!("first_seen: {e}"))?),
            None => None,
        };
        let valid_until = match self.cell(record, Field::LastSeen)? {
            Some(t) => Some(time::parse_lenient(t).map_err(|e| format!("last_seen: {e}"))?),
            None => None,
        };
        let from = valid_from.unwrap_or(self.options.now);
        if let Some(until) = valid_until
            && until <= from
        {
            return Err(format!(
                "last_seen {} is not after first_seen {} (an indicator must be valid for some time)",
                time::stamp(until),
                time::stamp(from)
            ));
        }
        let marking = match self.cell(record, Field::Tlp)? {
            Some(t) => Some(crate::tlp_marking(t).ok_or_else(|| {
                format!(
                    "tlp {t:?} is not a TLP level (clear, white, green, amber, amber+strict, red)"
                )
            })?),
            None => None,
        };
        let confidence = match self.cell(record, Field::Confidence)? {
            Some(c) => match c.parse::<i64>() {
                Ok(n) if (0..=100).contains(&n) => Some(n),
                _ => {
                    return Err(format!(
                        "confidence {c:?} is not a whole number from 0 to 100"
                    ));
                }
            },
            None => None,
        };
        let labels: Vec<&str> = self
            .cell(record, Field::Labels)?
            .map(|l| {
                l.split([';', ','])
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default();

        let id = ids::v5(
            "indicator",
            &ENTENTE_NAMESPACE,
            &format!("csv\n{}\n{pattern}", self.options.id_seed),
        );
        let mut obj = Obj::stix("indicator", &id)
            .str("created", &self.now)
            .str("modified", &self.now)
            .opt_str("name", self.cell(record, Field::Name)?)
            .opt_str("description", self.cell(record, Field::Comment)?)
            .str("pattern", &pattern)
            .str("pattern_type", "stix")
            .str("pattern_version", "2.1")
            .str(
                "valid_from",
                &valid_from.map_or_else(|| self.now.clone(), time::stamp),
            );
        if let Some(until) = valid_until {
            obj = obj.str("valid_until", &time::stamp(until));
        }
        if let Some(c) = confidence {
            obj = obj.int("confidence", c);
        }
        let json = obj
            .strs("labels", &labels)
            .strs("object_marking_refs", marking.as_slice())
            .finish();
        Ok(StixJson { id, json })
    }
}

impl<R: Read> Iterator for Indicators<R> {
    type Item = Result<Row, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pending {
            self.pending = false;
        } else {
            if self.done {
                return None;
            }
            match self.records.next_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    // The input itself failed: nothing after this point can
                    // be read.
                    self.done = true;
                    return Some(Err(RowError {
                        line: self.records.line,
                        reason: format!("cannot read further: {e}"),
                    }));
                }
            }
        }
        let line = self.record.line;
        Some(
            self.convert(&self.record)
                .map(|indicator| Row { line, indicator })
                .map_err(|reason| RowError { line, reason }),
        )
    }
}

/// One CSV record: its fields and the line it starts on.
#[derive(Default)]
struct Record {
    line: u64,
    fields: Vec<u8>,
    ends: Vec<usize>,
}

impl Record {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.fields.get(start..end)
    }
}

/// Records of the input with the line each starts on. `csv-core` splits the
/// fields; blank lines and `#` comments are skipped here, before a record
/// starts, so that the line counted is the record's own.
struct Records<R: Read> {
    input: std::io::BufReader<SkipBom<R>>,
    core: csv_core::Reader,
    /// The current line, 1-based.
    line: u64,
    bytes: u64,
}

impl<R: Read> Records<R> {
    fn new(input: R, delimiter: u8) -> Self {
        Records {
            input: std::io::BufReader::with_capacity(64 * 1024, SkipBom::new(input)),
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            line: 1,
            bytes: 0,
        }
    }

    fn consume(&mut self, n: usize, newlines: usize) {
        use std::io::BufRead;
        self.input.consume(n);
        self.bytes += n as u64;
        self.line += newlines as u64;
    }

    /// Reads the next record into `record`; false at the end of the input.
    fn next_record(&mut self, record: &mut Record) -> std::io::Result<bool> {
        use std::io::BufRead;
        // Skip line ends, blank lines and comment lines.
        let mut in_comment = false;
        loop {
            let buf = self.input.fill_buf()?;
            let Some(&b) = buf.first() else {
                return Ok(false);
            };
            if in_comment {
                match buf.iter().position(|&c| c == b'\n') {
                    Some(i) => {
                        self.consume(i + 1, 1);
                        in_comment = false;
                    }
                    None => {
                        let n = buf.len();
                        self.consume(n, 0);
                    }
                }
                continue;
            }
            match b {
                b'\n' => self.consume(1, 1),
                b'\r' => self.consume(1, 0),
                b'#' => in_comment = true,
                _ => break,
            }
        }
        record.line = self.line;
        let fields = &mut record.fields;
        let ends = &mut record.ends;
        // Whole capacity usable: csv-core writes into slices.
        fields.resize(fields.capacity().max(256), 0);
        ends.resize(ends.capacity().max(16), 0);
        let (mut out, mut nends) = (0, 0);
        loop {
            let buf = self.input.fill_buf()?;
            let (result, nin, nout, nend) =
                self.core
                    .read_record(buf, &mut fields[out..], &mut ends[nends..]);
            let newlines = buf[..nin].iter().filter(|&&c| c == b'\n').count();
            self.consume(nin, newlines);
            out += nout;
            nends += nend;
            match result {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => fields.resize(fields.len() * 2, 0),
                csv_core::ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
                csv_core::ReadRecordResult::Record => break,
                csv_core::ReadRecordResult::End => {
                    if nends == 0 {
                        return Ok(false);
                    }
                    break;
                }
            }
        }
        fields.truncate(out);
        ends.truncate(nends);
        Ok(true)
    }
}

/// A reader that drops a UTF-8 byte order mark at the start.
struct SkipBom<R> {
    inner: R,
    /// Bytes read ahead while looking for the mark, not yet handed out.
    head: Vec<u8>,
    checked: bool,
}

impl<R: Read> SkipBom<R> {
    fn new(inner: R) -> Self {
        SkipBom {
            inner,
            head: Vec::new(),
            checked: false,
        }
    }
}

impl<R: Read> Read for SkipBom<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.checked {
            self.checked = true;
            let mut head = [0u8; 3];
            let mut got = 0;
            while got < 3 {
                match self.inner.read(&mut head[got..])? {
                    0 => break,
                    n => got += n,
                }
            }
            if head[..got] != [0xEF, 0xBB, 0xBF] {
                self.head.extend_from_slice(&head[..got]);
            }
        }
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head.drain(..n);
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> CsvOptions {
        CsvOptions::new(Timestamp::parse("2026-11-27T10:00:00Z").unwrap(), "test")
    }

    fn convert(
        input: &str,
        options: CsvOptions,
    ) -> Vec<Result<(u64, serde_json::Value), RowError>> {
        read(input.as_bytes(), options)
            .unwrap()
            .map(|r| r.map(|row| (row.line, serde_json::from_str(&row.indicator.json).unwrap())))
            .collect()
    }

    #[test]
    fn header_names_are_matched_loosely() {
        let rows = convert(
            "\u{feff}Indicator,IOC Type,Description,TLP,First Seen,Last-Seen,Tags\r\n\
             hxxps://evil[.]example/a,url,\"phish, with comma\",amber,2026-09-01,2026-12-01,\"a; b\"\r\n",
            options(),
        );
        let (line, ind) = rows[0].as_ref().unwrap();
        assert_eq!(*line, 2);
        assert_eq!(ind["pattern"], "[url:value = 'https://evil.example/a']");
        assert_eq!(ind["description"], "phish, with comma");
        assert_eq!(ind["valid_from"], "2026-09-01T00:00:00.000Z");
        assert_eq!(ind["valid_until"], "2026-12-01T00:00:00.000Z");
        assert_eq!(ind["labels"], serde_json::json!(["a", "b"]));
        assert_eq!(ind["object_marking_refs"][0], stix::tlp::TLP_2[2].id);
        assert_eq!(ind["created"], "2026-11-27T10:00:00.000Z");
    }

    #[test]
    fn explicit_positions_read_files_without_header() {
        let spec = ColumnSpec::parse("value=2, type=1").unwrap();
        let rows = convert(
            "domain,evil.example\nmd5,D41D8CD98F00B204E9800998ECF8427E\n",
            CsvOptions {
                columns: spec,
                ..options()
            },
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].as_ref().unwrap().1["pattern"],
            "[domain-name:value = 'evil.example']"
        );
        assert_eq!(
            rows[1].as_ref().unwrap().1["pattern"],
            "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"
        );
        // The same mapping over a file whose first row holds the names.
        let spec = ColumnSpec::parse("value=2,type=1").unwrap();
        let rows = convert(
            "type,value\ndomain,evil.example\n",
            CsvOptions {
                columns: spec,
                ..options()
            },
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].as_ref().unwrap().0, 2);
    }

    #[test]
    fn bad_rows_are_reported_by_line_and_nothing_else_is_lost() {
        let rows = convert(
            "value,type,first_seen,last_seen,tlp,confidence\n\
             # a comment line\n\
             198.51.100.7,,,,,\n\
             not a thing,,,,,\n\
             \"multi\nline\",,,,,\n\
             evil.example,mutex,,,,\n\
             evil.example,,yesterday,,,\n\
             evil.example,,2026-10-01,2026-09-01,,\n\
             evil.example,,,,purple,\n\
             evil.example,,,,,101\n\
             ,,,,,\n\
             300.1.1.1,ipv4,,,,\n\
             2001:db8::1,,,,,\n",
            options(),
        );
        let errors: Vec<u64> = rows
            .iter()
            .filter_map(|r| r.as_ref().err().map(|e| e.line))
            .collect();
        assert_eq!(errors, vec![4, 5, 7, 8, 9, 10, 11, 12, 13]);
        let ok: Vec<u64> = rows
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|r| r.0))
            .collect();
        assert_eq!(ok, vec![3, 14]);
        let reasons: Vec<String> = rows
            .iter()
            .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
            .collect();
        assert!(reasons[0].contains("cannot tell what kind"), "{reasons:?}");
        assert!(reasons[2].contains("\"mutex\" is not one"), "{reasons:?}");
        assert!(reasons[5].contains("not a TLP level"), "{reasons:?}");
        assert!(reasons[8].contains("not an IPv4 address"), "{reasons:?}");
    }

    #[test]
    fn ids_are_stable_and_depend_on_the_seed() {
        let a = convert("value\nevil.example\n", options());
        let b = convert("value\nevil.example\n", options());
        let c = convert(
            "value\nevil.example\n",
            CsvOptions::new(options().now, "other"),
        );
        assert_eq!(
            a[0].as_ref().unwrap().1["id"],
            b[0].as_ref().unwrap().1["id"]
        );
        assert_ne!(
            a[0].as_ref().unwrap().1["id"],
            c[0].as_ref().unwrap().1["id"]
        );
    }

    #[test]
    fn unusable_files_fail_up_front() {
        assert!(matches!(
            read("".as_bytes(), options()),
            Err(CsvError::Empty)
        ));
        assert!(matches!(
            read("type,comment\nx,y\n".as_bytes(), options()),
            Err(CsvError::NoValueColumn)
        ));
        let spec = ColumnSpec::parse("value=ioc").unwrap();
        assert!(matches!(
            read(
                "value\nx\n".as_bytes(),
                CsvOptions {
                    columns: spec,
                    ..options()
                }
            ),
            Err(CsvError::MissingHeader { .. })
        ));
        assert!(ColumnSpec::parse("type=1").is_err());
        assert!(ColumnSpec::parse("value=0").is_err());
        assert!(ColumnSpec::parse("value=1,value=2").is_err());
        assert!(ColumnSpec::parse("colour=1,value=2").is_err());
    }

    #[test]
    fn bom_is_skipped_even_before_a_quoted_header() {
        let rows = convert("\u{feff}\"value\"\nevil.example\n", options());
        assert_eq!(rows.len(), 1);
        assert!(rows[0].is_ok());
    }
}
