/**
 * QueryPerf answers written as the simulators write them, for the parse micro-benchmark
 * (bench/perf-parse.ts): vcsim 0.24's PerfEntityMetric (each series an `xsi:type`d
 * PerfMetricIntSeries, the XSI prefix declared on every returnval, a series without data left
 * without a `<value>`) and vcsim 8's PerfEntityMetricCSV (one comma list per series).
 */

/** One synthesised answer and the number of series it carries. */
export interface PerfAnswer {
  format: 'normal' | 'csv';
  body: string;
  entities: number;
  series: number;
}

/** The answer of one realtime QueryPerf for `entities` VMs × `counterIds`, values from a seeded generator. */
export function perfAnswer(opts: {
  format: 'normal' | 'csv';
  entities: number;
  /** Index of the first VM (moid `vm-<index>`). */
  firstEntity?: number;
  counterIds: readonly number[];
  /** Extra instances per counter besides the aggregate "" (vNICs, vCPUs). */
  instances?: readonly string[];
  /** Samples per series (maxSample; the exporter asks for 1). */
  samples?: number;
  seed?: number;
}): PerfAnswer {
  let state = opts.seed ?? 1;
  // A small LCG: the same answer every run, values of the sizes vcsim makes up (2 to 8 digits).
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state;
  };
  const value = (): string => {
    const r = next();
    // One series in eight has no data for the interval: -1 in both formats, as vCenter sends it.
    if (r % 8 === 0) return '-1';
    return String(r % 10 ** (2 + (r % 7)));
  };
  const samples = Math.max(1, opts.samples ?? 1);
  const instances = ['', ...(opts.instances ?? [])];
  const parts: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" ' +
      'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" ' +
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><QueryPerfResponse xmlns="urn:vim25">',
  ];
  let series = 0;
  const csv = opts.format === 'csv';
  const times = Array.from(
    { length: samples },
    (_, i) => new Date(Date.UTC(2026, 11, 6, 18, 38, 40) - (samples - 1 - i) * 20_000),
  );
  for (let e = 0; e < opts.entities; e++) {
    const moid = `vm-${(opts.firstEntity ?? 0) + e}`;
    if (csv) {
      parts.push(
        '<returnval xmlns:_XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" _XMLSchema-instance:type="PerfEntityMetricCSV">',
        `<entity type="VirtualMachine">${moid}</entity><sampleInfoCSV>`,
        times.map((t) => `20,${t.toISOString().replace('.000Z', 'Z')}`).join(','),
        '</sampleInfoCSV>',
      );
    } else {
      parts.push(
        '<returnval xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="PerfEntityMetric">',
        `<entity type="VirtualMachine">${moid}</entity>`,
        ...times.map(
          (t) =>
            `<sampleInfo><timestamp>${t.toISOString().replace('Z', '950051Z')}</timestamp><interval>20</interval></sampleInfo>`,
        ),
      );
    }
    for (const id of opts.counterIds) {
      for (const instance of instances) {
        series++;
        const head = `<id><counterId>${id}</counterId><instance>${instance}</instance></id>`;
        if (csv) {
          parts.push(
            `<value>${head}<value>${Array.from({ length: samples }, value).join(',')}</value></value>`,
          );
        } else if (next() % 5 === 0) {
          // vcsim 0.24 leaves a series without data empty.
          parts.push(`<value XMLSchema-instance:type="PerfMetricIntSeries">${head}</value>`);
        } else {
          parts.push(
            `<value XMLSchema-instance:type="PerfMetricIntSeries">${head}`,
            ...Array.from({ length: samples }, () => `<value>${value()}</value>`),
            '</value>',
          );
        }
      }
    }
    parts.push('</returnval>');
  }
  parts.push('</QueryPerfResponse></soapenv:Body></soapenv:Envelope>');
  return { format: opts.format, body: parts.join(''), entities: opts.entities, series };
}
