//! The results CSV's columns (docs/contract.md §3): the tool's columns, the `observed_*` columns of read
//! actions (fixed per run), then every input column under its own header.

use crate::jobs::Field;
use crate::report::RowResult;
use crate::report::cells::escape_formula;
use csv::StringRecord;

/// The tool's own columns, in order.
pub const RESULT_COLUMNS: [&str; 9] = [
    "line",
    "status",
    "outcome",
    "error_code",
    "error_message",
    "attempts",
    "http_status",
    "request_id",
    "elapsed_ms",
];

/// What `observed_*` columns a run has.
#[derive(Clone, Debug, Default)]
pub struct ObservedColumns {
    pub fields: Vec<Field>,
    pub extras: Vec<&'static str>,
}

pub struct Schema {
    observed: Option<ObservedColumns>,
    /// The `steps` column, when some action of the run makes several requests per row.
    steps: bool,
    password_columns: Vec<bool>,
    header: StringRecord,
}

impl Schema {
    /// `observed`: `None` when no row of the run reads state.
    pub fn new(
        input_headers: &StringRecord,
        password_columns: Vec<bool>,
        observed: Option<ObservedColumns>,
        steps: bool,
    ) -> Schema {
        let mut own: Vec<String> = RESULT_COLUMNS.iter().map(|c| c.to_string()).collect();
        if steps {
            own.push("steps".into());
        }
        if let Some(o) = &observed {
            own.push("observed_exists".into());
            own.extend(o.fields.iter().map(|f| format!("observed_{}", f.column())));
            own.extend(o.extras.iter().map(|e| format!("observed_{e}")));
        }
        let mut header = StringRecord::new();
        for c in &own {
            header.push_field(c);
        }
        for h in input_headers {
            if own.iter().any(|c| c.eq_ignore_ascii_case(h)) {
                header.push_field(&format!("input_{h}"));
            } else {
                header.push_field(h);
            }
        }
        Schema {
            observed,
            steps,
            password_columns,
            header,
        }
    }

    /// Where the `steps` column is, when there is one.
    pub fn steps_column(&self) -> Option<usize> {
        self.steps.then_some(RESULT_COLUMNS.len())
    }

    pub fn header(&self) -> &StringRecord {
        &self.header
    }

    /// Writes one result row (escaped, passwords masked) into `out`.
    pub fn write_row<W: std::io::Write>(
        &self,
        row: &RowResult,
        out: &mut csv::Writer<W>,
    ) -> csv::Result<()> {
        let num = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
        let own = [
            row.line.to_string(),
            row.status.name().to_string(),
            row.outcome
                .map(|o| o.name())
                .unwrap_or_default()
                .to_string(),
            row.error_code.clone().unwrap_or_default(),
            row.error_message.clone().unwrap_or_default(),
            row.attempts.to_string(),
            num(row.http_status.map(u64::from)),
            row.request_id.clone().unwrap_or_default(),
            num(row.elapsed_ms),
        ];
        for cell in &own {
            out.write_field(escape_formula(cell).as_bytes())?;
        }
        if self.steps {
            out.write_field(escape_formula(&row.steps.join(";")).as_bytes())?;
        }
        if let Some(columns) = &self.observed {
            match &row.observed {
                Some(o) => {
                    out.write_field(if o.exists { "true" } else { "false" })?;
                    for f in &columns.fields {
                        out.write_field(
                            escape_formula(&o.state.get(*f).unwrap_or_default()).as_bytes(),
                        )?;
                    }
                    for e in &columns.extras {
                        let v = o
                            .extra
                            .iter()
                            .find(|(k, _)| k == e)
                            .map(|(_, v)| v.as_str())
                            .unwrap_or("");
                        out.write_field(escape_formula(v).as_bytes())?;
                    }
                }
                None => {
                    for _ in 0..=(columns.fields.len() + columns.extras.len()) {
                        out.write_field("")?;
                    }
                }
            }
        }
        let inputs = self.header.len() - self.own_len();
        for (i, cell) in row.record.iter().enumerate().take(inputs) {
            if self.password_columns.get(i).copied().unwrap_or(false) && !cell.is_empty() {
                out.write_field("***")?;
            } else {
                out.write_field(escape_formula(cell).as_bytes())?;
            }
        }
        // A ragged input row still gets a full results row.
        for _ in row.record.len()..inputs {
            out.write_field("")?;
        }
        out.write_record(None::<&[u8]>)
    }

    /// How many of the columns are the tool's own (the input columns follow).
    pub fn own_len(&self) -> usize {
        RESULT_COLUMNS.len()
            + usize::from(self.steps)
            + self
                .observed
                .as_ref()
                .map_or(0, |o| 1 + o.fields.len() + o.extras.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{RowResult, Status};

    #[test]
    fn provider_text_and_input_cells_are_escaped_and_passwords_masked() {
        let headers = csv::StringRecord::from(vec!["user", "password", "Status", "note"]);
        let schema = Schema::new(&headers, vec![false, true, false, false], None, false);
        assert_eq!(
            schema.header().iter().collect::<Vec<_>>(),
            [
                &RESULT_COLUMNS[..],
                &["user", "password", "input_Status", "note"]
            ]
            .concat()
        );
        let mut row = RowResult::without_request(
            0,
            2,
            "aliyun".into(),
            Status::Failed,
            "X",
            "=HYPERLINK(\"http://evil\")".into(),
            csv::StringRecord::from(vec!["@a", "s3cret", "-", "+1"]),
        );
        row.request_id = Some("-req".into());
        let mut w = csv::Writer::from_writer(Vec::new());
        schema.write_row(&row, &mut w).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert!(
            text.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
            "{text}"
        );
        assert!(text.contains(",'-req,"), "{text}");
        assert!(text.ends_with("'@a,***,'-,+1\n"), "{text}");
        assert!(!text.contains("s3cret"));
    }
}
