import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import * as iconv from 'iconv-lite';
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
  /** fields beyond the header's columns that hold something (an unquoted separator in a name); 0 mostly */
  extraFields: number;
}

const SEPARATORS: readonly CsvSeparator[] = [',', ';'];
/** The columns an import file may have, under their names and the Italian ones staff write. */
const COLUMN_NAMES: Record<string, 'phone' | 'name' | 'topics'> = {
  phone: 'phone',
  telefono: 'phone',
  cellulare: 'phone',
  name: 'name',
  nome: 'name',
  topics: 'topics',
  argomenti: 'topics',
  temi: 'topics',
};
/** How far into the file the header line is looked for. */
const HEADER_PEEK_BYTES = 64 * 1024;
const HEADER_HINT = 'phone,name,topics or phone;name;topics';

/**
 * The separator of a file from its header line: the one of `,` and `;` under which every column
 * of the header is known and one is the phone (with `phone` alone both are, `,` is taken then);
 * else the one under which the header has a phone column, so that the header check names the
 * columns it does not know; `,` when neither has one, so that it names what is missing.
 */
export function detectSeparator(headerLine: string): CsvSeparator {
  const columnsBySeparator = SEPARATORS.map((separator) => ({ separator, columns: headerColumns(headerLine, separator) }));
  const hasPhone = (columns: string[]) => columns.some((c) => COLUMN_NAMES[c] === 'phone');
  const clean = columnsBySeparator.filter((c) => hasPhone(c.columns) && c.columns.every((name) => name in COLUMN_NAMES));
  const candidates = clean.length ? clean : columnsBySeparator.filter((c) => hasPhone(c.columns));
  if (!candidates.length) return ',';
  return candidates.reduce((best, c) => (c.columns.length > best.columns.length ? c : best)).separator;
}

/** Text of the file echoed in an error, with what cannot be shown (control and unassigned characters, undecodable bytes) as `?`: a binary file's bytes are not sent back as they are. */
const printable = (text: string, max: number): string => text.slice(0, max).replace(/[\p{C}\uFFFD]/gu, '?');

/** Where each known column is in the header; a header without a phone column or with columns it does not know is a BadRequestError. */
function headerMap(header: string[]): { phone: number; name: number; topics: number } {
  const names = header.map((h) => h.toLowerCase());
  const unknown = names.filter((name) => !(name in COLUMN_NAMES));
  if (!names.some((name) => COLUMN_NAMES[name] === 'phone')) throw new BadRequestError(`file: the CSV header must contain phone (${HEADER_HINT})`);
  // Its data would be dropped without a word: the file is refused, naming the columns.
  if (unknown.length > 0) throw new BadRequestError(`file: unknown columns in the CSV header: ${unknown.map((name) => JSON.stringify(printable(name, 40))).join(', ')} (${HEADER_HINT})`);
  const at = (column: 'phone' | 'name' | 'topics') => names.findIndex((name) => COLUMN_NAMES[name] === column);
  const twice = (['phone', 'name', 'topics'] as const).filter((column) => names.filter((name) => COLUMN_NAMES[name] === column).length > 1);
  if (twice.length > 0) throw new BadRequestError(`file: the CSV header names ${twice.join(', ')} more than once`);
  return { phone: at('phone'), name: at('name'), topics: at('topics') };
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
  let headerLength = 0;
  let lineBreaksBefore = 0;
  try {
    for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      // The raw text starts with the blank lines skipped before the record and ends with its line break.
      const line = lineBreaksBefore + 1 + countLineBreaks(/^\s*/.exec(raw)![0]);
      lineBreaksBefore += countLineBreaks(raw);
      if (!column) {
        column = headerMap(record);
        headerLength = record.length;
        continue;
      }
      // Empty trailing fields (a separator at the end of the line, as some spreadsheets write) are no data.
      const extraFields = record.slice(headerLength).filter((value) => value !== '').length;
      yield { line, phone: field(record, column.phone), name: field(record, column.name), topics: field(record, column.topics), extraFields };
    }
    // An empty file (or one holding only a byte-order mark or blank lines) has no header at all.
    if (!column) throw new BadRequestError(`file: the file is empty; the CSV header must contain phone (${HEADER_HINT})`);
  } catch (error) {
    if (error instanceof BadRequestError) throw error;
    throw new BadRequestError(`file: not a readable CSV (${printable((error as Error).message, 200)})`);
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

/** The first line's bytes, to decode on their own. */
function headerLineOf(head: Buffer): Buffer {
  const end = lineEnd(head);
  return head.subarray(0, end === -1 ? head.length : end);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Buffer): boolean {
  try {
    UTF8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * A line's text: UTF-8 when its bytes are, else Windows-1252, as Excel writes plain CSV on Italian
 * Windows (`ò` is the one byte 0xF2, `’` 0x92, `€` 0x80). Decoded by iconv-lite: Node's TextDecoder
 * takes windows-1252 for ISO-8859-1, where 0x80-0x9F are control characters.
 */
function decodeLine(bytes: Buffer): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    return iconv.decode(bytes, 'win1252');
  }
}

/** Complete lines (each with its line break) as UTF-8: as they are when all of them are, else line by line. */
function linesAsUtf8(lines: Buffer): Buffer {
  if (isUtf8(lines)) return lines;
  const parts: Buffer[] = [];
  for (let start = 0; start < lines.length; ) {
    const end = lineEnd(lines.subarray(start));
    const next = end === -1 ? lines.length : start + end + 1;
    parts.push(Buffer.from(decodeLine(lines.subarray(start, next)), 'utf8'));
    start = next;
  }
  return Buffer.concat(parts);
}

/**
 * The file as UTF-8, each line decoded on its own (decodeLine): a UTF-8 file, a Windows-1252 one,
 * or one whose rows were pasted together from both loses no character. CR and LF are the same
 * byte in both encodings, so a line never ends inside a character.
 */
async function* asUtf8(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    const complete = Math.max(data.lastIndexOf(0x0a), data.lastIndexOf(0x0d)) + 1;
    rest = data.subarray(complete);
    if (complete > 0) yield linesAsUtf8(data.subarray(0, complete));
  }
  if (rest.length > 0) yield linesAsUtf8(rest);
}

/** UTF-16 files carry a byte-order mark, which csv-parse reads (and decodes) itself. */
function isUtf16(head: Buffer): boolean {
  return (head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff);
}

/** The file's first line, read ahead of the parse, and the whole file to parse, as UTF-8 (asUtf8). */
async function peekHeaderLine(csv: Readable | Buffer): Promise<{ headerLine: string; input: Readable }> {
  const { head, all } = await peekHead(csv);
  const header = headerLineOf(head);
  if (isUtf16(head)) return { headerLine: header.toString('utf8'), input: Readable.from(all()) };
  return { headerLine: decodeLine(header), input: Readable.from(asUtf8(all())) };
}

/** The file's first bytes (HEADER_PEEK_BYTES, or the whole file when shorter), and the whole file again. */
async function peekHead(csv: Readable | Buffer): Promise<{ head: Buffer; all: () => AsyncGenerator<Buffer> }> {
  if (Buffer.isBuffer(csv)) {
    return {
      head: csv.subarray(0, HEADER_PEEK_BYTES),
      all: async function* () {
        yield csv;
      },
    };
  }
  const chunks = csv[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let head = Buffer.alloc(0);
  let ended = false;
  // The first 64 KiB: the header line, and enough of the rows to tell the encoding.
  while (head.length < HEADER_PEEK_BYTES) {
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
  return { head, all: replay };
}
