import { z } from '@hono/zod-openapi';
import { BUCKET_NAME, objectKeyProblem, parseS3Url, S3_URL } from './s3.js';

/**
 * Request fields that name S3 buckets and keys. A name the store would refuse is a 400 with the
 * reason, instead of a request that fails inside the SDK or at the store.
 */
export const S3BucketSchema = z.string().regex(BUCKET_NAME, 'an S3 bucket name: 3 to 63 lowercase letters, digits, dots and dashes');

export const S3KeySchema = z.string().superRefine((key, ctx) => {
  const problem = objectKeyProblem(key);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** `s3://<bucket>/<key>`, with the same checks on its key. */
export const S3UrlSchema = z
  .string()
  .regex(S3_URL, 'dataset is s3://<bucket>/<key>')
  .superRefine((url, ctx) => {
    const match = S3_URL.exec(url);
    const problem = match ? objectKeyProblem(parseS3Url(url).key) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
