import { loadConfig, type Config } from '../../src/config.js';

export interface StackUrls {
  api: string;
  temporalUi: string;
  s3: string;
  minioConsole: string;
}

/**
 * What `npm start` prints once everything answers: where things are and commands to paste. The
 * commands need only curl. Credentials are shown literally only while they are the well-known
 * local defaults; changed ones appear as <SETTING> placeholders so a real secret is never echoed.
 */
export function readyMessage(config: Config, urls: StackUrls): string {
  const defaults = loadConfig({ env: {}, envFile: false });
  const shown = (key: 'S3_ACCESS_KEY_ID' | 'S3_SECRET_ACCESS_KEY' | 'API_KEY'): string =>
    config[key] === defaults[key] ? config[key] : `<${key}>`;
  const user = `${shown('S3_ACCESS_KEY_ID')}:${shown('S3_SECRET_ACCESS_KEY')}`;
  const sigv4 = `--aws-sigv4 "aws:amz:${config.S3_REGION}:s3" --user ${user}`;
  const object = `${urls.s3}/${config.INGEST_BUCKET}/README.md`;
  // ETags are hex (plus "-<parts>" for multipart uploads), so only the fixed part needs encoding.
  const idPrefix = encodeURIComponent(`ingest:${config.INGEST_BUCKET}/README.md@`);

  return [
    '',
    'Harvester is ready.',
    `  api            ${urls.api}   (operator API: Authorization: Bearer ${shown('API_KEY')})`,
    `  Temporal UI    ${urls.temporalUi}`,
    `  MinIO S3       ${urls.s3}   (access key ${shown('S3_ACCESS_KEY_ID')}, secret ${shown('S3_SECRET_ACCESS_KEY')})`,
    `  MinIO console  ${urls.minioConsole}   (log in with the same access key and secret)`,
    '',
    `Upload a file to ${config.INGEST_BUCKET} (MinIO notifies the api, which starts an ingest run):`,
    `  curl -fsS ${sigv4} -T ./README.md ${object} && echo uploaded`,
    '',
    `Read that run's status (its workflow id is ingest:${config.INGEST_BUCKET}/README.md@<ETag>):`,
    `  ETAG=$(curl -sI ${sigv4} ${object} | awk -F'"' 'tolower($1) ~ /^etag:/ {print $2}')`,
    `  curl -s -H "Authorization: Bearer ${shown('API_KEY')}" "${urls.api}/api/v1/workflows/${idPrefix}$ETAG"`,
    '',
    'Ctrl-C stops everything (a second Ctrl-C kills it).',
    '',
  ].join('\n');
}
