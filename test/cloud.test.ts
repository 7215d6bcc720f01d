// Cloud discovery against fake instance-metadata servers on loopback, one per
// cloud, speaking each service's protocol (AWS IMDSv2 with its token).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { discoverCloud, endpointsFromEnv } from '../src/host/cloud.ts';
import { formatResourceAttributes } from '../src/host/otel-resource.ts';
import { startOtlpReceiver } from './helpers/otlp-receiver.ts';
import type { RunResult } from '../src/report/result-schema.ts';
import { wireflame } from './helpers/cli.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

const servers: net.Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

const json = (res: http.ServerResponse, body: unknown) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const fakeAws = () =>
  serve((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
      return void res.end('tok-123');
    }
    if (req.url === '/latest/dynamic/instance-identity/document') {
      if (req.headers['x-aws-ec2-metadata-token'] !== 'tok-123') return void res.writeHead(401).end();
      return json(res, { region: 'eu-west-1', availabilityZone: 'eu-west-1b', instanceType: 'c7g.large', instanceId: 'i-0abc' });
    }
    res.writeHead(404).end();
  });
const fakeAzure = () =>
  serve((req, res) =>
    req.headers.metadata === 'true' && req.url?.startsWith('/metadata/instance?api-version=')
      ? json(res, { compute: { location: 'westeurope', zone: '2', vmSize: 'Standard_D2s_v5', vmId: 'vm-42' } })
      : void res.writeHead(400).end(),
  );
const fakeGcp = () =>
  serve((req, res) =>
    req.headers['metadata-flavor'] === 'Google' && req.url === '/computeMetadata/v1/instance/?recursive=true'
      ? json(res, { zone: 'projects/1/zones/europe-west4-a', machineType: 'projects/1/machineTypes/n2-standard-2', id: 777 })
      : void res.writeHead(403).end(),
  );

/** Accepts connections and never answers: a metadata address that black-holes. */
async function blackHole(): Promise<string> {
  const server = net.createServer(() => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

const refused = 'http://127.0.0.1:1';

test('each cloud is recognized by its own metadata protocol', async () => {
  const hole = await blackHole();
  assert.deepEqual(await discoverCloud({ aws: await fakeAws(), azure: hole, gcp: refused }), {
    provider: 'aws',
    region: 'eu-west-1',
    zone: 'eu-west-1b',
    instance_type: 'c7g.large',
    instance_id: 'i-0abc',
  });
  assert.deepEqual(await discoverCloud({ aws: refused, azure: await fakeAzure(), gcp: hole }), {
    provider: 'azure',
    region: 'westeurope',
    zone: '2',
    instance_type: 'Standard_D2s_v5',
    instance_id: 'vm-42',
  });
  assert.deepEqual(await discoverCloud({ aws: hole, azure: refused, gcp: await fakeGcp() }), {
    provider: 'gcp',
    region: 'europe-west4',
    zone: 'europe-west4-a',
    instance_type: 'n2-standard-2',
    instance_id: '777',
  });
});

test('an AWS service that refuses IMDSv1-style requests without the token is not mistaken for Azure or GCP', async () => {
  const aws = await fakeAws();
  assert.equal((await discoverCloud({ aws: refused, azure: aws, gcp: aws })).provider, 'none');
});

test('without a metadata service, discovery ends quickly and says none', async () => {
  const hole = await blackHole();
  const started = Date.now();
  assert.deepEqual(await discoverCloud({ aws: hole, azure: hole, gcp: refused }, 300), { provider: 'none' });
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  assert.equal(endpointsFromEnv({ WIREFLAME_CLOUD: 'off' }), null);
  assert.deepEqual(await discoverCloud(null), { provider: 'none' });
});

test('a run puts the cloud it found into result.json and into its spans\' resource', async () => {
  const env = { WIREFLAME_AWS_IMDS_ENDPOINT: await fakeAws(), WIREFLAME_AZURE_IMDS_ENDPOINT: refused, WIREFLAME_GCP_METADATA_ENDPOINT: refused };
  const receiver = await startOtlpReceiver();
  const out = scratchDir('wf-cloud-');
  const r = await wireflame(['run', '--duration', '1s', '--warmup', '0', '--rate', '50', '--json', '--out', out, '--otlp-endpoint', receiver.endpoint], env);
  await receiver.close();
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as RunResult;
  assert.equal(result.cloud.provider, 'aws');
  assert.equal(result.cloud.instance_type, 'c7g.large');
  const resource = receiver.spans[0]?.resource;
  assert.ok(resource, 'spans arrived');
  assert.equal(resource['cloud.provider'], 'aws');
  assert.equal(resource['host.type'], 'c7g.large');
  assert.equal(resource['host.cpu.model.name'], result.host.cpu_model);
  assert.equal(resource['service.name'], 'wireflame-target');
});

test('resource attributes are percent-encoded for OTEL_RESOURCE_ATTRIBUTES', () => {
  assert.equal(formatResourceAttributes({ 'host.cpu.model.name': 'Intel(R) Xeon, 2.1 GHz', 'a=b': 'x%y' }), 'host.cpu.model.name=Intel(R)%20Xeon%2C%202.1%20GHz,a%3Db=x%25y');
});
