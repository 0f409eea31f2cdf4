// gRPC server reflection (v1 and v1alpha) on a connect router, so grpcurl, buf curl, grpcui,
// Postman and evans can discover and call the API without a copy of our .proto files.
import { create, toBinary } from "@bufbuild/protobuf";
import type { DescFile, DescService } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** What both protocol versions ask; they differ only in the package of their message names. */
type ReflectionQuery =
  | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
  | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
  | { case: undefined; value?: undefined };

/** What both protocol versions answer, as plain init objects either version's `create` accepts. */
type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** Everything a reflection client can ask about, computed once when the routes are built. */
interface ReflectionIndex {
  services: string[];
  /** File name → the serialized file followed by its transitive dependencies. */
  files: Map<string, Uint8Array[]>;
  /** Fully-qualified symbol → name of the file that declares it. */
  symbols: Map<string, string>;
  /** Message type name → extension number → name of the file that declares the extension. */
  extensions: Map<string, Map<number, string>>;
}

/** Serves both reflection versions for the given services (and itself and health), one answer per request. */
export function registerReflection(router: ConnectRouter, services: DescService[]): void {
  const index = buildIndex([...services, v1.ServerReflection, v1alpha.ServerReflection, Health]);
  // The two versions are wire-identical; each only wraps the shared answer in its own message type.
  router.service(v1.ServerReflection, {
    serverReflectionInfo: (requests) =>
      answerEach(requests, index, (request, messageResponse) =>
        create(v1.ServerReflectionResponseSchema, { validHost: request.host, originalRequest: request, messageResponse }),
      ),
  });
  router.service(v1alpha.ServerReflection, {
    serverReflectionInfo: (requests) =>
      answerEach(requests, index, (request, messageResponse) =>
        create(v1alpha.ServerReflectionResponseSchema, { validHost: request.host, originalRequest: request, messageResponse }),
      ),
  });
}

async function* answerEach<Req extends { messageRequest: ReflectionQuery }, Res>(
  requests: AsyncIterable<Req>,
  index: ReflectionIndex,
  wrap: (request: Req, answer: ReflectionAnswer) => Res,
): AsyncIterable<Res> {
  for await (const request of requests) yield wrap(request, answer(index, request.messageRequest));
}

function answer(index: ReflectionIndex, query: ReflectionQuery): ReflectionAnswer {
  switch (query.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.services.map((name) => ({ name })) } };
    case "fileByFilename":
      return fileAnswer(index, index.files.has(query.value) ? query.value : undefined, `file ${query.value}`);
    case "fileContainingSymbol":
      return fileAnswer(index, index.symbols.get(query.value), `symbol ${query.value}`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = query.value;
      const file = index.extensions.get(containingType)?.get(extensionNumber);
      return fileAnswer(index, file, `extension ${extensionNumber} of ${containingType}`);
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensions.get(query.value);
      if (numbers === undefined) return notFound(`message type ${query.value}`);
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: query.value, extensionNumber: [...numbers.keys()] } };
    }
    case undefined:
      return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" } };
  }
}

function fileAnswer(index: ReflectionIndex, fileName: string | undefined, what: string): ReflectionAnswer {
  const fileDescriptorProto = fileName === undefined ? undefined : index.files.get(fileName);
  if (fileDescriptorProto === undefined) return notFound(what);
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto } };
}

function notFound(what: string): ReflectionAnswer {
  // The error travels inside the stream, so one bad lookup does not end a client's session.
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } };
}

function buildIndex(services: DescService[]): ReflectionIndex {
  const names = [...new Set(services.map((service) => service.typeName))].sort();
  const files = new Map(services.flatMap((service) => withDependencies(service.file)).map((f) => [f.proto.name, f]));

  const index: ReflectionIndex = { services: names, files: new Map(), symbols: new Map(), extensions: new Map() };
  for (const [fileName, file] of files) {
    index.files.set(
      fileName,
      withDependencies(file).map((f) => toBinary(FileDescriptorProtoSchema, f.proto)),
    );
    for (const type of nestedTypes(file)) {
      index.symbols.set(type.typeName, fileName);
      switch (type.kind) {
        case "message":
          // Every message may be asked for its extension numbers, even when it has none.
          if (!index.extensions.has(type.typeName)) index.extensions.set(type.typeName, new Map());
          for (const member of type.members) index.symbols.set(`${type.typeName}.${member.name}`, fileName);
          break;
        case "enum": {
          // protobuf scopes enum values beside their enum; the enum-qualified form is accepted too.
          const scope = type.typeName.slice(0, type.typeName.length - type.name.length);
          for (const value of type.values) {
            index.symbols.set(scope + value.name, fileName);
            index.symbols.set(`${type.typeName}.${value.name}`, fileName);
          }
          break;
        }
        case "service":
          for (const method of type.methods) index.symbols.set(`${type.typeName}.${method.name}`, fileName);
          break;
        case "extension": {
          const numbers = index.extensions.get(type.extendee.typeName) ?? new Map<number, string>();
          index.extensions.set(type.extendee.typeName, numbers.set(type.number, fileName));
          break;
        }
      }
    }
  }
  return index;
}

/** The file first, then every file it depends on, each once, as reflection clients expect. */
function withDependencies(file: DescFile): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile): void => {
    if (seen.has(f.proto.name)) return;
    seen.set(f.proto.name, f);
    f.dependencies.forEach(visit);
  };
  visit(file);
  return [...seen.values()];
}
