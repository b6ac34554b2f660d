/** The file cannot be read as the format it claims (broken quoting, corrupt gzip, duplicate header): retrying cannot help. */
export class DatasetFormatError extends Error {
  override readonly name: string = 'DatasetFormatError';
}

/** The file expands beyond what the reader accepts (a decompression bomb): retrying cannot help. */
export class DatasetTooLargeError extends DatasetFormatError {
  override readonly name = 'DatasetTooLargeError';
}
