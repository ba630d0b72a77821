// MongoDB's error shape: { ok: 0, errmsg, code, codeName } plus optional extra fields.
// Codes: https://www.mongodb.com/docs/manual/reference/error-codes/
import type { Document } from 'bson'

export const CODE_NAMES: Record<number, string> = {
  1: 'InternalError',
  2: 'BadValue',
  9: 'FailedToParse',
  11: 'UserNotFound',
  14: 'TypeMismatch',
  20: 'IllegalOperation',
  26: 'NamespaceNotFound',
  27: 'IndexNotFound',
  40: 'ConflictingUpdateOperators',
  43: 'CursorNotFound',
  48: 'NamespaceExists',
  52: 'DollarPrefixedFieldName',
  56: 'EmptyFieldName',
  57: 'DottedFieldName',
  59: 'CommandNotFound',
  66: 'ImmutableField',
  67: 'CannotCreateIndex',
  72: 'InvalidOptions',
  76: 'NoReplicationEnabled',
  79: 'UnknownReplWriteConcern',
  100: 'UnsatisfiableWriteConcern',
  73: 'InvalidNamespace',
  85: 'IndexOptionsConflict',
  86: 'IndexKeySpecsConflict',
  115: 'CommandNotSupported',
  166: 'CommandNotSupportedOnView',
  168: 'InvalidPipelineOperator',
  197: 'InvalidIndexSpecificationOption',
  225: 'TransactionTooOld',
  263: 'OperationNotSupportedInTransaction',
  260: 'InvalidResumeToken',
  280: 'ChangeStreamFatalError',
  286: 'ChangeStreamHistoryLost',
  2017: 'InvalidOptions',
  11000: 'DuplicateKey',
  23: 'AlreadyInitialized',
  40352: 'Location40352',
  40415: 'Location40415',
  40573: 'Location40573',
  40602: 'Location40602',
  40674: 'Location40674',
  50768: 'Location50768',
  51091: 'Location51091',
}

export class MongoServerFault extends Error {
  readonly code: number
  readonly extra: Document
  constructor(code: number, message: string, extra: Document = {}) {
    super(message)
    this.code = code
    this.extra = extra
  }

  toReply(): Document {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: CODE_NAMES[this.code] ?? 'UnknownError', ...this.extra }
  }

  toWriteError(index: number): Document {
    return { index, code: this.code, errmsg: this.message, ...this.extra }
  }
}

export function fault(code: number, message: string, extra?: Document): MongoServerFault {
  return new MongoServerFault(code, message, extra)
}
