import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModulesContainer } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import type { Module } from '@nestjs/core/injector/module';
import { defer, from, isObservable, lastValueFrom, Observable } from 'rxjs';
import { InvalidDecoratorError } from '../cache.errors';
import { getOperations } from '../decorators/cache-operation';
import { valueOnly } from '../engine/cache-engine';
import { type CompiledOperations, OperationRunner } from '../engine/operation-runner';
import { cachedRouteHandler, usesResponseObject } from './route-handlers';

const WRAPPED = Symbol('nest-cache:wrapped');

/**
 * Finds every method carrying caching decorators and wraps it once, on the instance (not the prototype, which
 * every application in the process shares), so `this`, other decorators and DI keep working. Controller handlers
 * are wrapped while modules are configured, because Nest binds routes before module init (see route-handlers.ts);
 * provider methods at module init. Misconfigured decorators (unknown policy, bad key template, request-scoped
 * class, handler using @Res()) fail start-up with the class and method named.
 */
@Injectable()
export class CacheExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly modules: ModulesContainer,
    private readonly runner: OperationRunner,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) this.exploreProvider(wrapper);
  }

  /**
   * Wraps the decorated handlers of the controllers this module's cache serves: those of modules that import it
   * (directly, through a module that re-exports it, or as a global module), and those that see no CacheModule at all.
   */
  wrapControllers(): void {
    for (const wrapper of this.discovery.getControllers()) {
      if (wrapper.host && this.runnerSeenBy(wrapper.host) === this.runner) this.exploreController(wrapper);
    }
  }

  private exploreProvider(wrapper: InstanceWrapper): void {
    const instance = wrapper.instance as Record<string | symbol, unknown> | undefined;
    if (!instance || typeof instance !== 'object') return;
    const decorated = this.decoratedMethods(Object.getPrototypeOf(instance));
    if (decorated.length === 0) return;
    requireSingleton(wrapper, decorated[0].name, 'provider');
    const instances = wrapper.isTransient
      ? wrapper.getStaticTransientInstances().flatMap((transient) => (transient?.instance ? [transient.instance as Record<string | symbol, unknown>] : []))
      : [instance];
    for (const target of instances) {
      for (const { name, method, operations } of decorated) {
        const compiled = this.runner.compile(method, operations, `${target.constructor.name}.${name}`);
        this.wrap(target, name, method, compiled);
      }
    }
  }

  private exploreController(wrapper: InstanceWrapper): void {
    const instance = wrapper.instance as Record<string | symbol, unknown> | undefined;
    const metatype = wrapper.metatype as (new (...args: unknown[]) => unknown) | null;
    if (!instance || !metatype?.prototype) return;
    const decorated = this.decoratedMethods(metatype.prototype);
    if (decorated.length === 0) return;
    requireSingleton(wrapper, decorated[0].name, 'controller');
    for (const { name, method, operations } of decorated) {
      const where = `${metatype.name}.${name}`;
      if (usesResponseObject(metatype, name)) {
        throw new InvalidDecoratorError(where, 'a handler that takes the response object (@Res() or @Next(), passthrough included) cannot be cached: on a hit ' +
            'it does not run, so what it does to the response would be lost; return the value and use @Header() instead');
      }
      const compiled = this.runner.compile(method, operations, where);
      if (isWrapped(instance[name])) continue;
      install(instance, name, method, cachedRouteHandler(metatype.prototype, name, method, compiled, this.runner, settle));
    }
  }

  /**
   * The OperationRunner a module's classes are served by: the one of a CacheModule it imports, directly or through
   * modules that re-export it (global modules count as imported), else the application's first.
   */
  private runnerSeenBy(host: Module): OperationRunner | undefined {
    const runnerOf = (module: Module) => module.providers.get(OperationRunner)?.instance as OperationRunner | undefined;
    const seen = new Set<Module>();
    const search = (module: Module, reexportedOnly: boolean): OperationRunner | undefined => {
      for (const imported of module.imports) {
        if ((reexportedOnly && !module.exports.has(imported.metatype)) || seen.has(imported)) continue;
        seen.add(imported);
        const runner = runnerOf(imported) ?? search(imported, true);
        if (runner) return runner;
      }
      return undefined;
    };
    return search(host, false) ?? [...this.modules.values()].map(runnerOf).find(Boolean);
  }

  private decoratedMethods(prototype: object | null) {
    if (!prototype) return [];
    return this.scanner.getAllMethodNames(prototype).flatMap((name) => {
      const method = (prototype as Record<string, unknown>)[name];
      const operations = getOperations(method);
      return operations ? [{ name, method: method as (...args: unknown[]) => unknown, operations }] : [];
    });
  }

  /** Replaces the method on the instance (not the prototype) with one that runs its operations. */
  private wrap(
    target: Record<string | symbol, unknown>,
    name: string,
    original: (...args: unknown[]) => unknown,
    compiled: CompiledOperations,
  ): void {
    if (isWrapped(target[name])) return;
    const runner = this.runner;
    const returnsObservable = Reflect.getMetadata('design:returntype', Object.getPrototypeOf(target), name) === Observable;
    const run = (self: unknown, args: unknown[]) =>
      runner.run(compiled, args, () => settle(original.apply(self, args)), valueOnly);
    const wrapped = returnsObservable
      ? function (this: unknown, ...args: unknown[]) {
          return defer(() => from(run(this, args)));
        }
      : function (this: unknown, ...args: unknown[]) {
          return run(this, args);
        };
    install(target, name, original, wrapped);
  }
}

/** Caching decorators act on one long-lived instance; a request-scoped class gets a new, unwrapped one per request. */
function requireSingleton(wrapper: InstanceWrapper, method: string, kind: 'provider' | 'controller'): void {
  if (wrapper.isDependencyTreeStatic()) return;
  throw new InvalidDecoratorError(
    `${wrapper.name as string}.${method}`,
    `caching decorators need a singleton ${kind}, but this one is request-scoped (or depends on one); ` +
      'move the cached method into a singleton service and call it from here',
  );
}

function isWrapped(method: unknown): boolean {
  return (method as { [WRAPPED]?: boolean } | undefined)?.[WRAPPED] === true;
}

/** Puts the wrapper on the instance in the original's place, keeping its name and the metadata other decorators left. */
function install(target: Record<string | symbol, unknown>, name: string, original: object, wrapped: object): void {
  copyMetadata(original, wrapped);
  Object.defineProperty(wrapped, 'name', { value: (original as { name: string }).name });
  Object.defineProperty(wrapped, WRAPPED, { value: true });
  target[name] = wrapped;
}

/** The eventual value of a method's result, whether it returned a value, a Promise or an Observable. */
async function settle(result: unknown): Promise<unknown> {
  return isObservable(result) ? lastValueFrom(result, { defaultValue: undefined }) : result;
}

/** Keeps metadata other decorators put on the method readable on the wrapper. */
function copyMetadata(from: object, to: object): void {
  for (const key of Reflect.getOwnMetadataKeys(from)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, from), to);
  }
}
