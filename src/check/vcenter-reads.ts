import type { VimClient } from '../vsphere/client.js';
import { retrieveOne } from '../vsphere/property-collector.js';
import { el, moRefEl, type MoRef } from '../vsphere/soap/envelope.js';
import { isVsphereError } from '../vsphere/errors.js';
import { child, type XmlNode } from '../vsphere/soap/xml.js';
import { SERVICE_INSTANCE, type ServiceContent } from '../vsphere/service-content.js';
import { bool, moRef, num, str } from '../vsphere/values.js';

/**
 * Privileges the collectors need on every object they report, checked on the root folder (where a
 * propagating ReadOnly role is normally granted). System.View covers login, ContainerView, QueryPerf,
 * OptionManager and CustomFieldsManager reads; System.Read the entities' properties (config, summary,
 * runtime, triggeredAlarmState) and the tags of the tag collector. vCenter's ReadOnly role holds all
 * three; nothing that changes state (Sessions.TerminateSession, …) is needed.
 */
export const REQUIRED_PRIVILEGES: readonly string[] = ['System.Anonymous', 'System.View', 'System.Read'];

/** One PerformanceManager.historicalInterval entry. */
export interface StatsInterval {
  name: string;
  samplingPeriodSeconds: number;
  /** Statistics level 1–4; absent when vCenter leaves it unset. */
  level?: number;
  enabled: boolean;
}

/** PerformanceManager.historicalInterval (empty on ESXi and vcsim, which roll nothing up). */
export async function readIntervals(
  client: VimClient,
  perfManager: MoRef,
  signal: AbortSignal,
): Promise<StatsInterval[]> {
  const props = await retrieveOne(client, perfManager, ['historicalInterval'], signal);
  const out: StatsInterval[] = [];
  for (const node of props.get('historicalInterval')?.children ?? []) {
    const period = num(child(node, 'samplingPeriod'));
    if (period === undefined) continue;
    const level = num(child(node, 'level'));
    out.push({
      name: str(child(node, 'name')) ?? '',
      samplingPeriodSeconds: period,
      ...(level !== undefined && { level }),
      enabled: bool(child(node, 'enabled')) ?? false,
    });
  }
  return out.sort((a, b) => a.samplingPeriodSeconds - b.samplingPeriodSeconds);
}

/** config.vpxd.stats.maxQueryMetrics as vCenter has it; undefined where the option does not exist (ESXi, vcsim). */
export async function readMaxQueryMetricsOption(
  client: VimClient,
  setting: MoRef | undefined,
  signal: AbortSignal,
): Promise<number | undefined> {
  if (!setting) return undefined;
  try {
    const res = await client.invoke(
      'QueryOptions',
      setting,
      el('name', 'config.vpxd.stats.maxQueryMetrics'),
      signal,
    );
    return num(child(child(res, 'returnval') ?? res, 'value'));
  } catch (e) {
    // InvalidName: the option is not set on this server.
    if (isVsphereError(e, 'VSPHERE_FAULT') || isVsphereError(e, 'VSPHERE_INVALID_ARGUMENT')) return undefined;
    throw e;
  }
}

/** The REQUIRED_PRIVILEGES this session lacks on the root folder (AuthorizationManager.HasPrivilegeOnEntities). */
export async function missingPrivileges(
  client: VimClient,
  content: ServiceContent,
  signal: AbortSignal,
): Promise<string[]> {
  // Our ServiceContent keeps only what the collectors use; the AuthorizationManager is read here.
  const sc = await client.transport.call('RetrieveServiceContent', SERVICE_INSTANCE, '', { signal });
  const rv = child(sc, 'returnval');
  const authz = moRef(rv && child(rv, 'authorizationManager'));
  if (!authz) throw new Error('the server has no AuthorizationManager');
  const current = (await retrieveOne(client, content.sessionManager, ['currentSession'], signal)).get(
    'currentSession',
  );
  const sessionKey = str(current && child(current, 'key'));
  if (!sessionKey) throw new Error('the server did not report the current session');
  const res = await client.invoke(
    'HasPrivilegeOnEntities',
    authz,
    moRefEl('entity', content.rootFolder) +
      el('sessionId', sessionKey) +
      REQUIRED_PRIVILEGES.map((p) => el('privId', p)).join(''),
    signal,
  );
  const granted = new Set<string>();
  for (const entity of elements(res, 'returnval')) {
    for (const a of elements(entity, 'privAvailability')) {
      const id = str(child(a, 'privId'));
      if (id !== undefined && bool(child(a, 'isGranted')) === true) granted.add(id);
    }
  }
  return REQUIRED_PRIVILEGES.filter((p) => !granted.has(p));
}

function elements(node: XmlNode, name: string): XmlNode[] {
  return node.children.filter((c) => c.name === name);
}
