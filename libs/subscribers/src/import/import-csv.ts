import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { Readable } from 'stream';
import { BadRequestError } from '@app/core';

/** The column separators an import file may use: `,`, or `;` as Excel writes CSV with the Italian locale. */
export type CsvSeparator = ',' | ';';

/** One record of an import file, with the file's physical line where it starts (the header is line 1). */
export interface ImportCsvRecord {
  line: number;
  phone: string | undefined;
  name: string | undefined;
  topics: string | undefined;
}

const SEPARATORS: readonly CsvSeparator[] = [',', ';'];
/** How far into the file the header line is looked for. */
const HEADER_PEEK_BYTES = 64 * 1024;
const HEADER_HINT = 'phone,name,topics or phone;name;topics';

/**
 * The separator of a file from its header line: the one of `,` and `;` under which the header has
 * a `phone` column (both parse it when the header is `phone` alone, `,` is taken then); `,` when
 * neither does, so the header check names what is missing.
 */
export function detectSeparator(headerLine: string): CsvSeparator {
  const columnsBySeparator = SEPARATORS.map((separator) => ({ separator, columns: headerColumns(headerLine, separator) }));
  const withPhone = columnsBySeparator.filter((c) => c.columns.includes('phone'));
  if (!withPhone.length) return ',';
  return withPhone.reduce((best, c) => (c.columns.length > best.columns.length ? c : best)).separator;
}

/**
 * The records of an import file (`phone,name,topics` or `phone;name;topics`, the separator taken
 * from the header line), parsed as a stream by csv-parse. Each carries the physical line where it
 * starts, counted from the raw text csv-parse read for it: its `info.lines` is where a record ends,
 * and it counts a CRLF inside a quoted field as two lines. A file that is not CSV, or whose header
 * has no phone column, is a BadRequestError naming the file.
 */
export async function* readImportCsv(csv: Readable | Buffer): AsyncGenerator<ImportCsvRecord> {
  const { headerLine, input } = await peekHeaderLine(csv);
  const parser = input.pipe(
    parse({ bom: true, delimiter: detectSeparator(headerLine), skip_empty_lines: true, trim: true, relax_column_count: true, raw: true }),
  );
  let column: { phone: number; name: number; topics: number } | undefined;
  let lineBreaksBefore = 0;
  try {
    for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      // The raw text starts with the blank lines skipped before the record and ends with its line break.
      const line = lineBreaksBefore + 1 + countLineBreaks(/^\s*/.exec(raw)![0]);
      lineBreaksBefore += countLineBreaks(raw);
      if (!column) {
        const names = record.map((h) => h.toLowerCase());
        if (!names.includes('phone')) throw new BadRequestError(`file: the CSV header must contain phone (${HEADER_HINT})`);
        column = { phone: names.indexOf('phone'), name: names.indexOf('name'), topics: names.indexOf('topics') };
        continue;
      }
      yield { line, phone: field(record, column.phone), name: field(record, column.name), topics: field(record, column.topics) };
    }
  } catch (error) {
    if (error instanceof BadRequestError) throw error;
    throw new BadRequestError(`file: not a readable CSV (${(error as Error).message.slice(0, 200)})`);
  }
}

function headerColumns(headerLine: string, separator: CsvSeparator): string[] {
  try {
    const [header] = parseSync(headerLine, { bom: true, delimiter: separator, trim: true, relax_column_count: true, to_line: 1 }) as string[][];
    return (header ?? []).map((h) => h.toLowerCase());
  } catch {
    return [];
  }
}

function field(record: string[], index: number): string | undefined {
  return index === -1 ? undefined : record[index];
}

function countLineBreaks(text: string): number {
  return text.match(/\r\n|\r|\n/g)?.length ?? 0;
}

/** Index of the first CR or LF in bytes, -1 when there is none. */
function lineEnd(bytes: Buffer): number {
  const lf = bytes.indexOf(0x0a);
  const cr = bytes.indexOf(0x0d);
  return lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
}

function headerLineOf(head: Buffer): string {
  const end = lineEnd(head);
  return head.subarray(0, end === -1 ? head.length : end).toString('utf8');
}

/** The file's first line, read ahead of the parse, and the whole file to parse. */
async function peekHeaderLine(csv: Readable | Buffer): Promise<{ headerLine: string; input: Readable }> {
  if (Buffer.isBuffer(csv)) return { headerLine: headerLineOf(csv.subarray(0, HEADER_PEEK_BYTES)), input: Readable.from([csv]) };
  const chunks = csv[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let head = Buffer.alloc(0);
  let ended = false;
  while (lineEnd(head) === -1 && head.length < HEADER_PEEK_BYTES) {
    const next = await chunks.next();
    if (next.done) {
      ended = true;
      break;
    }
    head = Buffer.concat([head, Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value)]);
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield head;
    if (ended) return;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
  }
  return { headerLine: headerLineOf(head), input: Readable.from(replay()) };
}
