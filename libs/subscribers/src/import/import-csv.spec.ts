import { Readable } from 'stream';
import { BadRequestError } from '@app/core';
import { detectSeparator, ImportCsvRecord, readImportCsv } from './import-csv';

async function read(csv: string | Buffer | Readable): Promise<ImportCsvRecord[]> {
  const records: ImportCsvRecord[] = [];
  for await (const record of readImportCsv(typeof csv === 'string' ? Buffer.from(csv) : csv)) records.push(record);
  return records;
}

describe('detectSeparator', () => {
  it.each([
    ['phone,name,topics', ','],
    ['phone;name;topics', ';'],
    ['\ufeffPhone ; Name ; Topics', ';'],
    ['"phone";"name";"topics"', ';'],
    ['phone', ','],
    ['phone;name,surname', ';'],
    ['phone,name;surname', ','],
    ['phone|name|topics', ','],
    ['telefono;nome', ';'],
    ['phone;name,topics', ';'],
    ['', ','],
  ])('%j → %j', (header, separator) => {
    expect(detectSeparator(header)).toBe(separator);
  });
});

describe('readImportCsv', () => {
  it('reads a file with the separator of its header, , or ;', async () => {
    expect(await read('phone,name,topics\n3470000001,"Rossi; Anna",meteo|eventi\n')).toEqual([{ line: 2, phone: '3470000001', name: 'Rossi; Anna', topics: 'meteo|eventi', extraFields: 0 }]);
    expect(await read('\ufeffphone;name;topics\r\n347 000 0001;Rossi, Anna;meteo\r\n3470000002;"Bruno ""B."";";\r\n')).toEqual([
      { line: 2, phone: '347 000 0001', name: 'Rossi, Anna', topics: 'meteo', extraFields: 0 },
      { line: 3, phone: '3470000002', name: 'Bruno "B.";', topics: '', extraFields: 0 },
    ]);
    expect(await read('name;topics;phone\nAnna;;3470000001\n')).toEqual([{ line: 2, phone: '3470000001', name: 'Anna', topics: '', extraFields: 0 }]);
  });

  it('counts the fields a row has beyond the header, not empty trailing ones', async () => {
    expect(await read('phone,name,topics\n3470000001,Rossi, Anna,meteo\n3470000002,Bruno,meteo,,\n3470000003\n')).toEqual([
      { line: 2, phone: '3470000001', name: 'Rossi', topics: 'Anna', extraFields: 1 },
      { line: 3, phone: '3470000002', name: 'Bruno', topics: 'meteo', extraFields: 0 },
      { line: 4, phone: '3470000003', name: undefined, topics: undefined, extraFields: 0 },
    ]);
  });

  it('refuses a header without a phone column under either separator, naming both', async () => {
    for (const csv of ['phone|name|topics\n3470000001|Anna|\n', 'nome,cognome\na,b\n', 'nome,cognome\n']) {
      const error = await read(csv).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as Error).message).toBe('file: the CSV header must contain phone (phone,name,topics or phone;name;topics)');
    }
  });

  it('reads the Italian column names staff write, and refuses columns it does not know instead of dropping them', async () => {
    expect(await read('Telefono;Nome;Argomenti\n3470000001;Anna;meteo\n')).toEqual([{ line: 2, phone: '3470000001', name: 'Anna', topics: 'meteo', extraFields: 0 }]);
    for (const [csv, unknown] of [
      ['phone;name,topics\n3471000008;N,meteo\n', '"name,topics"'],
      ['phone,name;topics\n3471000009,N;meteo\n', '"name;topics"'],
      ['phone;name;topics,extra\n3472000005;Anna;meteo,x\n', '"topics,extra"'],
      ['phone,nome,email\n3472000003,Luca,l@example.org\n', '"email"'],
    ]) {
      const error = await read(csv).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as Error).message).toBe(`file: unknown columns in the CSV header: ${unknown} (phone,name,topics or phone;name;topics)`);
    }
    await expect(read('phone,telefono\n1,2\n')).rejects.toThrow('file: the CSV header names phone more than once');
  });

  it('refuses an empty file, or one with only a byte-order mark or blank lines', async () => {
    for (const csv of ['', '\ufeff', '\n\n']) await expect(read(csv)).rejects.toThrow('file: the file is empty; the CSV header must contain phone');
  });

  it('reads a file that is not UTF-8 as Windows-1252, as Excel writes CSV on Italian Windows', async () => {
    const bytes = Buffer.concat([Buffer.from('phone;name\r\n3470000001;Nicol'), Buffer.from([0xf2]), Buffer.from(' Ferr'), Buffer.from([0xe0]), Buffer.from('\r\n')]);
    const records: unknown[] = [];
    for await (const record of readImportCsv(Readable.from([bytes.subarray(0, 20), bytes.subarray(20)]))) records.push(record);
    expect(records).toEqual([{ line: 2, phone: '3470000001', name: 'Nicolò Ferrà', topics: undefined, extraFields: 0 }]);
    // UTF-8 stays UTF-8, even when a character is cut between two chunks.
    const utf8 = Buffer.from('phone;name\n3470000002;Nicolò\n');
    const cut = utf8.indexOf(0xc3) + 1;
    const again: unknown[] = [];
    for await (const record of readImportCsv(Readable.from([utf8.subarray(0, cut), utf8.subarray(cut)]))) again.push(record);
    expect(again).toEqual([{ line: 2, phone: '3470000002', name: 'Nicolò', topics: undefined, extraFields: 0 }]);
  });

  it("reads Windows-1252's own characters (0x80-0x9F: ’ and €), not ISO-8859-1's control characters", async () => {
    const bytes = Buffer.concat([Buffer.from('phone;name\r\n3470000003;Maria D'), Buffer.from([0x92]), Buffer.from('Angelo '), Buffer.from([0x80]), Buffer.from('\r\n')]);
    expect((await read(bytes)).map((r) => r.name)).toEqual(['Maria D’Angelo €']);
  });

  it('decodes each line on its own: rows of a UTF-8 file pasted from a Windows-1252 one, in chunks cut anywhere', async () => {
    const bytes = Buffer.concat([
      Buffer.from('phone,name\n3470000004,Città ok\n3470000005,Citt'),
      Buffer.from([0xe0]),
      Buffer.from(' latin\r\n3470000006,Nicolò\r\n'),
    ]);
    const expected = ['Città ok', 'Città latin', 'Nicolò'];
    expect((await read(bytes)).map((r) => r.name)).toEqual(expected);
    for (const cut of [1, 20, bytes.indexOf(0xe0), bytes.indexOf(0xe0) + 1, bytes.indexOf(0x0d) + 1, bytes.length - 3]) {
      const records: { name: string | undefined }[] = [];
      for await (const record of readImportCsv(Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]))) records.push(record);
      expect(records.map((r) => r.name)).toEqual(expected);
    }
  });

  it('refuses what is not CSV as a bad request naming the file', async () => {
    const error = await read('phone,name\n3470000001,"Anna\n').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toMatch(/^file: not a readable CSV \(/);
  });

  it('does not send a binary file\'s bytes back in the error, only what can be shown', async () => {
    const bytes = Buffer.concat([Buffer.from('phone,\u0001\u0007'), Buffer.from([0xff, 0xfe, 0x00, 0x1b]), Buffer.from('x\n1,2\n')]);
    const error = await read(bytes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    // (Not UTF-8, the line is read as Windows-1252: 0xFF 0xFE are ÿþ there; the control characters are not shown.)
    expect((error as Error).message).toBe('file: unknown columns in the CSV header: "??ÿþ??x" (phone,name,topics or phone;name;topics)');
  });

  it('gives each record the physical line where it starts, after quoted fields over several lines', async () => {
    const lines = async (csv: string) => (await read(csv)).map((r) => [r.line, r.phone]);
    // LF, and CRLF between records with a CRLF inside a quoted field (csv-parse counts that one twice).
    expect(await lines('phone,name\n1,a\n2,"b\nc"\n3,d\n4,e\n')).toEqual([[2, '1'], [3, '2'], [5, '3'], [6, '4']]);
    expect(await lines('phone;name\r\n1;a\r\n2;"b\r\nc\r\nd"\r\n3;e\r\n4;f')).toEqual([[2, '1'], [3, '2'], [6, '3'], [7, '4']]);
    // Excel for Windows: CRLF between records, LF inside a cell.
    expect(await lines('phone;name\r\n1;"a\nb"\r\n2;c\r\n')).toEqual([[2, '1'], [4, '2']]);
    // Old Mac CR, blank and whitespace lines skipped, blank lines before the header and inside a field.
    expect(await lines('phone,name\r1,a\r\r2,"b\rc"\r3,d')).toEqual([[2, '1'], [4, '2'], [6, '3']]);
    expect(await lines('\n\nphone,name\n\n1,a\n   \n"2","b\n\nc"\n3,d')).toEqual([[5, '1'], [7, '2'], [10, '3']]);
  });

  it('reads a stream whose header arrives in pieces', async () => {
    const chunks = ['pho', 'ne;na', 'me\r', '\n3470000001;"Anna', '\nRossi"\r\n', '3470000002;Bruno\r\n'].map((c) => Buffer.from(c));
    expect(await read(Readable.from(chunks))).toEqual([
      { line: 2, phone: '3470000001', name: 'Anna\nRossi', topics: undefined, extraFields: 0 },
      { line: 4, phone: '3470000002', name: 'Bruno', topics: undefined, extraFields: 0 },
    ]);
    expect(await read(Readable.from(['phone;name'], { objectMode: false }))).toEqual([]);
  });
});
