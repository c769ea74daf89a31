// s3:// repository URLs: accepted forms, clear errors for bad parameters, and no credentials in URLs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../core/errors.ts';
import { S3ObjectStore, s3StoreFromUrl } from '../../providers/aws/s3-object-store.ts';
import { parseS3Url } from '../../providers/aws/s3-url.ts';

const url = (text: string) => new URL(text);

function rejects(text: string, pattern: RegExp, env: Record<string, string> = {}): InvalidArgumentError {
  let caught: unknown;
  assert.throws(() => s3StoreFromUrl(url(text), env), (err: unknown) => {
    caught = err;
    assert.ok(err instanceof InvalidArgumentError, `${text}: expected InvalidArgumentError, got ${String(err)}`);
    assert.match(err.message, pattern, text);
    return true;
  });
  return caught as InvalidArgumentError;
}

describe('s3StoreFromUrl', () => {
  it('builds a store from bucket, prefix and region', () => {
    const store = s3StoreFromUrl(url('s3://my-backups/cloudkeep/prod?region=eu-west-1'));
    assert.ok(store instanceof S3ObjectStore);
    assert.equal(store.description, 's3://my-backups/cloudkeep/prod');
    assert.equal(store.bucket, 'my-backups');
    assert.equal(store.prefix, 'cloudkeep/prod');
    assert.equal(store.region, 'eu-west-1');
    assert.deepEqual(store.capabilities, { conditionalWrites: false, objectLock: false, storageTiers: true });
  });

  it('accepts the bucket root and a trailing slash', () => {
    assert.equal(s3StoreFromUrl(url('s3://my-backups?region=us-east-1')).description, 's3://my-backups');
    assert.equal(s3StoreFromUrl(url('s3://my-backups/?region=us-east-1')).prefix, '');
    assert.equal(s3StoreFromUrl(url('s3://my-backups/a/b/?region=us-east-1')).prefix, 'a/b');
  });

  it('parses endpoint, storage classes and Object Lock', () => {
    const options = parseS3Url(url('s3://bkt/p?region=eu-central-1&endpoint=http://127.0.0.1:9000&storageClass.pack=STANDARD_IA&storageClass.index=ONEZONE_IA&lock=GOVERNANCE:30'));
    assert.deepEqual(options, {
      bucket: 'bkt',
      prefix: 'p',
      region: 'eu-central-1',
      endpoint: 'http://127.0.0.1:9000',
      storageClasses: { pack: 'STANDARD_IA', index: 'ONEZONE_IA' },
      objectLock: { mode: 'GOVERNANCE', days: 30 },
    });
    assert.deepEqual(parseS3Url(url('s3://bkt?region=us-east-1&lock=compliance:365')).objectLock, { mode: 'COMPLIANCE', days: 365 });
    assert.equal(s3StoreFromUrl(url('s3://bkt?region=us-east-1&lock=COMPLIANCE:7')).capabilities.objectLock, true);
  });

  it('takes the region from AWS_REGION or AWS_DEFAULT_REGION, and us-east-1 for a custom endpoint', () => {
    assert.equal(s3StoreFromUrl(url('s3://bkt/p'), { AWS_REGION: 'ap-south-1' }).region, 'ap-south-1');
    assert.equal(s3StoreFromUrl(url('s3://bkt/p'), { AWS_DEFAULT_REGION: 'sa-east-1' }).region, 'sa-east-1');
    assert.equal(s3StoreFromUrl(url('s3://bkt/p?region=eu-west-3'), { AWS_REGION: 'ap-south-1' }).region, 'eu-west-3');
    assert.equal(s3StoreFromUrl(url('s3://bkt/p?endpoint=http://127.0.0.1:9000')).region, 'us-east-1');
    assert.equal(s3StoreFromUrl(url('s3://bkt/p?endpoint=https://minio.internal&region=garage')).region, 'garage');
    rejects('s3://bkt/p', /no region: add \?region=/);
  });

  it('uses the third-party checksum settings and path style only with a custom endpoint', async () => {
    const custom = s3StoreFromUrl(url('s3://bkt/p?endpoint=http://127.0.0.1:9000'));
    assert.equal(await custom.client.config.requestChecksumCalculation(), 'WHEN_REQUIRED');
    assert.equal(await custom.client.config.responseChecksumValidation(), 'WHEN_REQUIRED');
    assert.equal(custom.client.config.forcePathStyle, true);
    const aws = s3StoreFromUrl(url('s3://bkt/p?region=eu-west-1'), {});
    if (process.env.AWS_REQUEST_CHECKSUM_CALCULATION === undefined) {
      assert.equal(await aws.client.config.requestChecksumCalculation(), 'WHEN_SUPPORTED');
    }
    assert.equal(aws.client.config.forcePathStyle, false);
    const virtualHost = s3StoreFromUrl(url('s3://bkt/p?endpoint=https://s3.example.com&forcePathStyle=false'));
    assert.equal(virtualHost.client.config.forcePathStyle, false);
  });

  it('rejects a bad region naming it and the expected form', () => {
    for (const region of ['EU-WEST-1', 'eu_west_1', 'europe', 'eu-west', 'us-east-1;rm']) {
      rejects(`s3://bkt/p?region=${encodeURIComponent(region)}`, new RegExp(`region "${region.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}": expected an AWS region such as eu-west-1`));
    }
    rejects('s3://bkt/p?region=', /parameter region is empty/);
  });

  it('rejects a bad lock spec naming the expected form', () => {
    for (const lock of ['GOVERNANCE', 'FOREVER:30', 'GOVERNANCE:', 'GOVERNANCE:abc', ':30', 'GOVERNANCE:30:1']) {
      rejects(`s3://bkt/p?region=eu-west-1&lock=${encodeURIComponent(lock)}`, /lock=.*expected <GOVERNANCE\|COMPLIANCE>:<days>, e\.g\. lock=GOVERNANCE:30/);
    }
    rejects('s3://bkt/p?region=eu-west-1&lock=GOVERNANCE:0', /retention 0 days: expected a whole number of days from 1/);
    rejects('s3://bkt/p?region=eu-west-1&lock=COMPLIANCE:99999', /retention 99999 days/);
  });

  it('rejects credentials in the URL without echoing them', () => {
    for (const text of ['s3://AKIAEXAMPLE:s3cr3t-value@bkt/p?region=eu-west-1', 's3://AKIAEXAMPLE@bkt/p?region=eu-west-1']) {
      const err = rejects(text, /holds credentials .*default chain/);
      assert.ok(!err.message.includes('s3cr3t-value') && !err.message.includes('AKIAEXAMPLE'), err.message);
    }
    const err = rejects('s3://bkt/p?region=eu-west-1&endpoint=http://user:pa55word@127.0.0.1:9000', /endpoint holds credentials/);
    assert.ok(!err.message.includes('pa55word'));
  });

  it('rejects bad buckets, prefixes, endpoints, storage classes and unknown parameters', () => {
    rejects('s3://My_Bucket/p?region=eu-west-1', /bucket "My_Bucket": expected 3 to 63 characters/);
    rejects('s3://ab/p?region=eu-west-1', /bucket "ab"/);
    rejects('s3:///p?region=eu-west-1', /no bucket/);
    rejects('s3://bkt:9000/p?region=eu-west-1', /port after the bucket/);
    rejects('s3://bkt/a%20b?region=eu-west-1', /prefix "\/a b": expected '\/'-separated segments/);
    rejects('s3://bkt/a//b?region=eu-west-1', /prefix/);
    rejects('s3://bkt/p?region=eu-west-1&endpoint=ftp://host', /endpoint "ftp:\/\/host": expected an http:\/\/ or https:\/\/ URL/);
    rejects('s3://bkt/p?region=eu-west-1&endpoint=not a url', /endpoint "not a url"/);
    rejects('s3://bkt/p?region=eu-west-1&storageClass.index=GLACIER', /storage class "GLACIER" for index: .*for packs only/);
    rejects('s3://bkt/p?region=eu-west-1&storageClass.manifest=GLACIER_IR', /storage class "GLACIER_IR" for manifest: .*for packs only/);
    assert.deepEqual(parseS3Url(url('s3://bkt/p?region=eu-west-1&storageClass.pack=GLACIER')).storageClasses, { pack: 'GLACIER' });
    rejects('s3://bkt/p?region=eu-west-1&storageClass.pack=CHEAP', /storage class "CHEAP" for pack/);
    rejects('s3://bkt/p?region=eu-west-1&storageClass.packs=STANDARD_IA', /storageClass\.packs: expected storageClass\.<kind> with kind one of config, key, pack/);
    rejects('s3://bkt/p?regoin=eu-west-1&region=eu-west-1', /unknown S3 URL parameter\(s\) "regoin"/);
    rejects('s3://bkt/p?region=eu-west-1&region=eu-west-2', /region is given twice/);
    rejects('s3://bkt/p?region=eu-west-1&forcePathStyle=yes', /forcePathStyle="yes": expected true or false/);
    assert.throws(() => parseS3Url(url('file:///tmp/x')), /scheme "file:": expected s3:/);
  });

  it('validates options given directly to the constructor too', () => {
    const base = { bucket: 'bkt', region: 'eu-west-1' };
    assert.throws(() => new S3ObjectStore({ ...base, prefix: '../x' }), InvalidArgumentError);
    assert.throws(() => new S3ObjectStore({ ...base, objectLock: { mode: 'LEGAL' as 'GOVERNANCE', days: 1 } }), /Object Lock mode "LEGAL"/);
    assert.throws(() => new S3ObjectStore({ ...base, storageClasses: { config: 'DEEP_ARCHIVE' } }), /DEEP_ARCHIVE" for config/);
    assert.equal(new S3ObjectStore({ ...base, storageClasses: { pack: 'DEEP_ARCHIVE' } }).capabilities.storageTiers, true);
    assert.throws(() => new S3ObjectStore({ ...base, maxAttempts: 0 }), /maxAttempts 0/);
    assert.equal(new S3ObjectStore({ ...base, prefix: '/a/b/' }).description, 's3://bkt/a/b');
  });
});
