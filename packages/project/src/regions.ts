/**
 * Cloud Run's region codes: the last label of a service's hash URL,
 * `https://<service>-<project hash>-<code>.a.run.app`. Google does not
 * publish the table; each row here is read off a live `*.a.run.app` URL of
 * the per-region services that gcping (GoogleCloudPlatform/gcping) deploys
 * in every region, which extends the 24 rows runsd shipped with. A region
 * missing here still works with the deterministic URL form (no hash needed).
 */
export const regionCodes: Readonly<Record<string, string>> = {
  'africa-south1': 'bq',
  'asia-east1': 'de',
  'asia-east2': 'df',
  'asia-northeast1': 'an',
  'asia-northeast2': 'dt',
  'asia-northeast3': 'du',
  'asia-south1': 'el',
  'asia-south2': 'em',
  'asia-southeast1': 'as',
  'asia-southeast2': 'et',
  'asia-southeast3': 'eu',
  'australia-southeast1': 'ts',
  'australia-southeast2': 'km',
  'europe-central2': 'lm',
  'europe-north1': 'lz',
  'europe-north2': 'ma',
  'europe-southwest1': 'no',
  'europe-west1': 'ew',
  'europe-west2': 'nw',
  'europe-west3': 'ey',
  'europe-west4': 'ez',
  'europe-west6': 'oa',
  'europe-west8': 'oc',
  'europe-west9': 'od',
  'europe-west10': 'oe',
  'europe-west12': 'og',
  'me-central1': 'ww',
  'me-central2': 'wx',
  'me-west1': 'zf',
  'northamerica-northeast1': 'nn',
  'northamerica-northeast2': 'pd',
  'northamerica-south1': 'pv',
  'southamerica-east1': 'rj',
  'southamerica-west1': 'tl',
  'us-central1': 'uc',
  'us-east1': 'ue',
  'us-east4': 'uk',
  'us-east5': 'ul',
  'us-south1': 'vp',
  'us-west1': 'uw',
  'us-west2': 'wl',
  'us-west3': 'wm',
  'us-west4': 'wn',
};

export function isKnownRegion(region: string): boolean {
  return Object.hasOwn(regionCodes, region);
}
