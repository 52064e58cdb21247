import { escapeXml } from '../vsphere/soap/envelope.js';

/** The small HTML page at `/`: name, version, link to the metrics. */
export function landingPage(
  version: string,
  telemetryPath: string,
  targets: readonly string[] = [],
  defaultTarget?: string,
): string {
  const path = escapeXml(telemetryPath);
  const probes = targets
    .map((t) => {
      const href = `/probe?target=${encodeURIComponent(t)}`;
      const note = t === defaultTarget ? ` (also on ${path})` : '';
      return `<li><a href="${escapeXml(href)}">${escapeXml(t)}</a>${note}</li>`;
    })
    .join('');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>vsphere-exporter</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}</style></head>
<body>
<h1>vsphere-exporter</h1>
<p>Prometheus exporter for VMware vSphere, version ${escapeXml(version)}.</p>
<ul>
<li><a href="${path}">Metrics</a> (${path})</li>
<li><a href="/-/healthy">Health</a> · <a href="/-/ready">Readiness</a> (ready once logged in to vCenter)</li>
</ul>
${probes ? `<h2>Targets</h2><ul>${probes}</ul>` : ''}
</body>
</html>
`;
}
