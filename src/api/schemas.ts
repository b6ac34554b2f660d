import { z } from '@hono/zod-openapi';

/** The uniform error body of every non-2xx answer. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'workflow_not_found' }),
      message: z.string(),
      requestId: z.string(),
    }),
  })
  .openapi('Error');

/** OpenAPI security of the operator API: `Authorization: Bearer <API_KEY>`. */
export const OPERATOR_SECURITY = [{ operatorApiKey: [] }];
