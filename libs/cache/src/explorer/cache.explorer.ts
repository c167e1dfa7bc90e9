import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { defer, from, isObservable, lastValueFrom, Observable } from 'rxjs';
import { InvalidDecoratorError } from '../cache.errors';
import { getOperations } from '../decorators/cache-operation';
import { type CompiledOperations, OperationRunner } from '../engine/operation-runner';
import { usesResponseObject } from '../interceptors/handler-arguments';

const WRAPPED = Symbol('nest-cache:wrapped');

/**
 * Finds every method carrying caching decorators at module init. Provider methods are wrapped once, on the
 * instance, so `this`, other decorators and DI keep working. Controller handlers are only validated here: routes
 * are bound before module init, so {@link CacheInterceptor} serves them. Misconfigured decorators (unknown policy,
 * bad key template, request-scoped provider, handler using @Res()) fail start-up with the class and method named.
 */
@Injectable()
export class CacheExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly runner: OperationRunner,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) this.exploreProvider(wrapper);
    for (const wrapper of this.discovery.getControllers()) this.exploreController(wrapper);
  }

  private exploreProvider(wrapper: InstanceWrapper): void {
    const instance = wrapper.instance as Record<string | symbol, unknown> | undefined;
    if (!instance || typeof instance !== 'object') return;
    const decorated = this.decoratedMethods(Object.getPrototypeOf(instance));
    if (decorated.length === 0) return;
    if (!wrapper.isDependencyTreeStatic()) {
      throw new InvalidDecoratorError(
        `${wrapper.name as string}.${decorated[0].name}`,
        'caching decorators need a singleton provider, but this one is request-scoped (or depends on one); ' +
          'move the cached method into a singleton service and call it from here',
      );
    }
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
    const metatype = wrapper.metatype as (new (...args: unknown[]) => unknown) | null;
    if (!metatype?.prototype) return;
    for (const { name, method, operations } of this.decoratedMethods(metatype.prototype)) {
      const where = `${metatype.name}.${name}`;
      if (usesResponseObject(metatype, name)) {
        throw new InvalidDecoratorError(where, 'a handler that takes the response object (@Res() or @Next(), passthrough included) cannot be cached: on a hit ' +
            'it does not run, so what it does to the response would be lost; return the value and use @Header() instead');
      }
      this.runner.compile(method, operations, where);
    }
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
    if ((target[name] as { [WRAPPED]?: boolean })[WRAPPED]) return;
    const runner = this.runner;
    const returnsObservable = Reflect.getMetadata('design:returntype', Object.getPrototypeOf(target), name) === Observable;
    const run = (self: unknown, args: unknown[]) =>
      runner.run(compiled, args, () => settle(original.apply(self, args))).then((result) => result.value);
    const wrapped = returnsObservable
      ? function (this: unknown, ...args: unknown[]) {
          return defer(() => from(run(this, args)));
        }
      : function (this: unknown, ...args: unknown[]) {
          return run(this, args);
        };
    copyMetadata(original, wrapped);
    Object.defineProperty(wrapped, 'name', { value: original.name });
    Object.defineProperty(wrapped, WRAPPED, { value: true });
    target[name] = wrapped;
  }
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
